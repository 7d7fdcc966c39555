"""What a user stays signed in with: sign-in sessions, authorization codes, refresh-token
families, ended together."""
