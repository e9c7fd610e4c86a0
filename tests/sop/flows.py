"""SOP documents the tests share: the ride-hailing "report a lost item" flow, which has every
element type, and the benchmark's plain chain of N user tasks."""

from __future__ import annotations

from typing import Any

from loadtests.bench_sop import chain

__all__ = ["chain", "lost_item"]


def lost_item(title: str = "Report a lost item") -> dict[str, Any]:
    return {
        "key": "lost-item",
        "title": title,
        "elements": [
            {"id": "start", "type": "start", "next": "describe"},
            {"id": "describe", "type": "user_task", "title": "What was lost",
             "form": {"fields": [{"name": "trip_id", "type": "text", "max_length": 20},
                                 {"name": "item", "type": "choice", "choices": ["phone", "bag", "other"]},
                                 {"name": "value", "type": "number", "min": 0, "max": 100000},
                                 {"name": "agent_note", "type": "text", "required": False}],
                      "channels": {"web": ["trip_id", "item", "value"]}},
             "next": "driver"},
            {"id": "driver", "type": "service_task", "resolve": {"driver": "trip.driver_name"},
             "inputs": {"trip_id": "trip_id"}, "next": "route", "on_error": "callback"},
            {"id": "route", "type": "gateway", "branches": [{"when": "value > 500", "to": "confirm"}],
             "default": "wait"},
            {"id": "confirm", "type": "user_task", "title": "Confirm with the driver",
             "form": {"fields": [{"name": "found", "type": "boolean"},
                                 {"name": "pickup", "type": "date", "required": False}]},
             "next": "done"},
            {"id": "wait", "type": "timer", "after_s": 3600, "next": "callback"},
            {"id": "callback", "type": "user_task", "title": "Call the customer back",
             "form": {"fields": [{"name": "reached", "type": "boolean"},
                                 {"name": "attempts", "type": "integer", "min": 1, "max": 5}]},
             "next": "done"},
            {"id": "done", "type": "end", "outcome": "reported"},
        ],
    }  # fmt: skip
