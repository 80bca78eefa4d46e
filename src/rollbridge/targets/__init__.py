"""Targets rollbridge writes to: the Edusign client (`edusign`), how its replies are judged
(`edusign_reply`), the pure shaping of its requests (`edusign_shapes`) and the rate limiter
(`ratelimit`)."""
