"""The OpenID Connect parameters of an authorization request (Core §3.1.2.1, §6), read and
checked; issuer/grants/interaction.py decides what they ask of the user.

- `nonce` is kept with the code for the ID token, at most 512 characters (replay checks are
  the relying party's, Core §3.1.3.7).
- `prompt` is space-separated; none with another value is refused, as is a value Core does not
  define (node-oidc-provider's check_prompt.js does the same). One account per browser here,
  so `select_account` asks for a sign-in, as `login` does.
- `max_age` is a non-negative integer (node-oidc-provider's check_max_age.js: a safe integer).
- `login_hint` pre-fills the login form's username; `id_token_hint` is verified at the
  endpoint, where the keys are.
- `ui_locales`, `claims_locales`, `display`, `acr_values` are accepted and change nothing (the
  pages are English; acr is not issued); `claims` is ignored like any unknown parameter.
- `request` and `request_uri` (request objects, Core §6) are refused with their own errors.
"""

from collections.abc import Mapping
from dataclasses import dataclass

FIELDS = (
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "claims_locales",
    "display",
    "acr_values",
)
# The prompt values this issuer acts on, in the order discovery lists them.
PROMPT_VALUES = ("none", "login", "consent")
PROMPTS = frozenset(PROMPT_VALUES)
_PROMPT_ALIASES = {"select_account": "login"}
MAX_NONCE = 512
MAX_LOGIN_HINT = 150  # the longest username
MAX_MAX_AGE = 2**53 - 1


class BadParameter(Exception):
    """An OAuth error for the client's redirect URI: `error` and its description."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


@dataclass(frozen=True, slots=True)
class OpenIdParameters:
    nonce: str | None = None
    prompts: frozenset[str] = frozenset()  # select_account already read as login
    max_age: int | None = None
    login_hint: str | None = None
    id_token_hint: str | None = None

    @property
    def prompt_none(self) -> bool:
        return "none" in self.prompts


def openid_parameters(
    values: Mapping[str, str], names: frozenset[str] | set[str]
) -> OpenIdParameters:
    """The parameters from `values` (each sent once), or BadParameter. `names` are all the
    parameters the request holds, for those this issuer refuses whatever their value. A blank
    value counts as omitted (RFC 6749 §3.1)."""
    values = {name: value for name, value in values.items() if value}
    if "request" in names:
        raise BadParameter("request_not_supported", "request objects are not supported")
    if "request_uri" in names:
        raise BadParameter("request_uri_not_supported", "request_uri is not supported")
    nonce, login_hint = values.get("nonce"), values.get("login_hint")
    if nonce is not None and len(nonce) > MAX_NONCE:
        raise BadParameter("invalid_request", f"the nonce is longer than {MAX_NONCE} characters")
    if login_hint is not None and len(login_hint) > MAX_LOGIN_HINT:
        raise BadParameter("invalid_request", "the login_hint is too long")
    return OpenIdParameters(
        nonce=nonce,
        prompts=_prompts(values.get("prompt")),
        max_age=_max_age(values.get("max_age")),
        login_hint=login_hint,
        id_token_hint=values.get("id_token_hint"),
    )


def _prompts(prompt: str | None) -> frozenset[str]:
    given = frozenset((prompt or "").split(" ")) - {""}
    prompts = frozenset(_PROMPT_ALIASES.get(value, value) for value in given)
    if not prompts <= PROMPTS:
        raise BadParameter("invalid_request", "the prompt parameter holds an unsupported value")
    # Core §3.1.2.1: "If this parameter contains none with any other value, an error is
    # returned."
    if "none" in prompts and len(given) > 1:
        raise BadParameter("invalid_request", "prompt=none cannot be combined with another value")
    return prompts


def _max_age(max_age: str | None) -> int | None:
    if max_age is None:
        return None
    # ASCII digits only: int() would also take "+1", " 1", "1_0" and other scripts' digits.
    if not (max_age.isascii() and max_age.isdigit()) or len(max_age) > 16:
        raise BadParameter("invalid_request", "max_age must be a non-negative integer")
    seconds = int(max_age)
    if seconds > MAX_MAX_AGE:
        raise BadParameter("invalid_request", "max_age must be a non-negative integer")
    return seconds
