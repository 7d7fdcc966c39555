"""Everything a user stays signed in with, ended together: the browser's sign-in sessions at
the issuer, the codes not yet exchanged, and the refresh-token families of every app
(RFC 9700 §4.14.2: a password change should end them). `users passwd`, `users remove` and
`sessions revoke --user` call `end_all` after the user's credential generation moved on (or
the user was removed), which already ends the sign-ins in every process; the rows are
deleted here too. Before any of that, each ending sign-in session's clients are told
(Back-Channel Logout 1.0, issuer/sessions/backchannel.py)."""

from dataclasses import dataclass

from issuer.sessions.authorization_codes import AuthorizationCodes
from issuer.sessions.backchannel import BackchannelLogout
from issuer.sessions.refresh_tokens import Family, RefreshTokens
from issuer.sessions.sign_in_sessions import SignIn, SignInSessions


@dataclass(frozen=True, slots=True)
class Ended:
    refresh_tokens: int
    sign_ins: int


@dataclass(frozen=True, slots=True)
class Live:
    families: list[Family]
    sign_ins: list[SignIn]


@dataclass(frozen=True, slots=True)
class UserSessions:
    sign_ins: SignInSessions
    refresh_tokens: RefreshTokens
    codes: AuthorizationCodes
    backchannel: BackchannelLogout | None = None

    def end_all(self, user_id: str, now: float) -> Ended:
        if self.backchannel is not None:
            self.backchannel.user_signing_out(user_id, now)
        sign_ins = self.sign_ins.end_user(user_id)
        self.codes.expire_user(user_id, now)
        return Ended(self.refresh_tokens.revoke_user(user_id, now), sign_ins)

    def end_sign_in(self, session_id: str, now: float) -> bool:
        """`sessions revoke --sign-in ID`; False when there is no such session."""
        if self.backchannel is not None:
            self.backchannel.sign_in_ending(session_id, now)
        return self.sign_ins.end_one(session_id)

    def live(self, now: float, user_id: str | None = None) -> Live:
        return Live(self.refresh_tokens.families(now, user_id), self.sign_ins.live(now, user_id))
