"""The services' exception tree; views map each onto a response or onto form fields.

- :class:`ServiceError` — base of everything a service refuses.
  - :class:`ValidationFailed` — bad values; ``errors`` maps field names to messages.
    - :class:`KeyReused` — a submission's idempotency key sent again for another action or
      object (its message is under ``"form"``).
  - :class:`NotAllowed` — the actor may not do this (403).
  - :class:`NotFound` — no such object, or one the actor may not know exists (404).
  - :class:`IllegalTransition` — the object's state does not allow this step.
"""

from __future__ import annotations


class ServiceError(Exception):
    def __init__(self, message: str = ""):
        super().__init__(str(message))
        self.message = message


class ValidationFailed(ServiceError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class KeyReused(ValidationFailed):
    pass


class NotAllowed(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class IllegalTransition(ServiceError):
    pass
