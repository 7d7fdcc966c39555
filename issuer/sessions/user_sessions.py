"""Everything a user stays signed in with, ended together: the browser's sign-in sessions at
the issuer, the codes not yet exchanged, and the refresh-token families of every app
(RFC 9700 §4.14.2: a password change should end them). `users passwd`, `users remove` and
`sessions revoke --user` call `end_all` after the user's credential generation moved on (or
the user was removed), which already ends the sign-ins in every process; the rows are
deleted here too."""

from dataclasses import dataclass

from issuer.sessions.authorization_codes import AuthorizationCodes
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

    def end_all(self, user_id: str, now: float) -> Ended:
        sign_ins = self.sign_ins.end_user(user_id)
        self.codes.expire_user(user_id, now)
        return Ended(self.refresh_tokens.revoke_user(user_id, now), sign_ins)

    def live(self, now: float, user_id: str | None = None) -> Live:
        return Live(self.refresh_tokens.families(now, user_id), self.sign_ins.live(now, user_id))
