// A relying party built on panva's openid-client 6, used as it ships: its own checks at their
// defaults, for tests/processes/test_openid_client_interop.py. One step per run:
//
//   node rp.mjs STEP < input.json > output.json
//
// Every input carries {issuer, client_id, client_secret}; each run discovers the issuer again
// (openid-client checks the document's `issuer` against the URL it was given). The steps:
//   discover     -> {metadata}
//   authorize    {redirect_uri, scope} -> {url, code_verifier, nonce, state}
//   callback     {callback_url, code_verifier, nonce, state} -> {tokens, claims}
//   userinfo     {access_token, subject} -> {userinfo}
//   refresh      {refresh_token} -> {tokens, claims}
//   end-session  {id_token_hint, post_logout_redirect_uri, state} -> {url}
// A refusal by the library is {"error": name, "message", "code", "status"} and exit code 1.
//
// `allowInsecureRequests` only lets it speak http to the issuer on loopback: a transport
// option, which relaxes none of its checks of what the issuer says. `enableNonRepudiationChecks`
// adds one: by default openid-client trusts the TLS channel for an ID token from the token
// endpoint (Core §3.1.3.7 step 6) and skips its signature; here the signature is checked too,
// with the key from the issuer's JWKS, which is what exercises each signing algorithm.
import * as client from "openid-client";

async function configuration(input) {
  return client.discovery(
    new URL(input.issuer),
    input.client_id,
    input.client_secret, // client metadata shorthand: the default client_secret_post
    undefined,
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] },
  );
}

function tokensOf(response) {
  const { access_token, token_type, expires_in, refresh_token, id_token, scope } = response;
  return { access_token, token_type, expires_in, refresh_token, id_token, scope };
}

const steps = {
  async discover(config) {
    return { metadata: config.serverMetadata() };
  },

  async authorize(config, input) {
    const code_verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: input.redirect_uri,
      scope: input.scope,
      code_challenge: await client.calculatePKCECodeChallenge(code_verifier),
      code_challenge_method: "S256",
      nonce,
      state,
    });
    return { url: url.href, code_verifier, nonce, state };
  },

  async callback(config, input) {
    const response = await client.authorizationCodeGrant(config, new URL(input.callback_url), {
      pkceCodeVerifier: input.code_verifier,
      expectedNonce: input.nonce,
      expectedState: input.state,
    });
    return { tokens: tokensOf(response), claims: response.claims() };
  },

  async userinfo(config, input) {
    return { userinfo: await client.fetchUserInfo(config, input.access_token, input.subject) };
  },

  async refresh(config, input) {
    const response = await client.refreshTokenGrant(config, input.refresh_token);
    return { tokens: tokensOf(response), claims: response.claims() ?? null };
  },

  async "end-session"(config, input) {
    const url = client.buildEndSessionUrl(config, {
      id_token_hint: input.id_token_hint,
      post_logout_redirect_uri: input.post_logout_redirect_uri,
      state: input.state,
    });
    return { url: url.href };
  },
};

async function readInput() {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text || "{}");
}

const step = steps[process.argv[2]];
if (step === undefined) {
  console.log(JSON.stringify({ error: "UsageError", message: `no step ${process.argv[2]}` }));
  process.exit(2);
}
try {
  const input = await readInput();
  console.log(JSON.stringify(await step(await configuration(input), input)));
} catch (error) {
  const { name, message, code, status, error: oauthError, cause } = error;
  const reason = cause instanceof Error ? cause.message : cause;
  console.log(JSON.stringify({ error: name, message, code, status, oauthError, cause: reason }));
  process.exit(1);
}
