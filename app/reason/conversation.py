"""What a conversation remembers between messages: the last question as understood (for follow-ups) and the
incident being reported (figures merged across messages). Plain data, stored with each turn as JSON."""

from __future__ import annotations

from dataclasses import dataclass

from app.reason.followup import Context
from app.reason.incident import Incident


@dataclass
class ConversationState:
    context: Context | None = None
    incident: Incident | None = None

    def to_json(self) -> dict:
        return {"context": self.context.to_json() if self.context else None,
                "incident": self.incident.to_json() if self.incident else None}

    @classmethod
    def from_json(cls, data: dict | None) -> ConversationState:
        data = data or {}
        return cls(Context.from_json(data.get("context")), Incident.from_json(data.get("incident")))
