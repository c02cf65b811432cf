"""The request being served, for log lines written anywhere below it (a service, the token-service
client): its id travels in a context variable, set by RequestIdMiddleware for the request's duration."""

import logging
from contextvars import ContextVar

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Give each record written during a request that request's id (unless it names one itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request_id = current_request_id.get()
            if request_id is not None:
                record.request_id = request_id
        return True
