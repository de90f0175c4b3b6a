"""The pages of a request that failed: 503 when the database is unreachable, else the 500 page.

Neither needs the database (no context processors, no user, no session): they are what is left to
show when the database is gone. Django calls `server_error` from inside its exception handler, so
`sys.exc_info()` is the exception that ended the request, wherever it was raised (a view, a
middleware, the template).
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


def database_unavailable(error: BaseException | None) -> bool:
    """Whether the request failed because the database could not be reached or went away."""
    return isinstance(error, (OperationalError, InterfaceError))


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: "temporarily unavailable" (503, Retry-After) for a lost database, else 500."""
    if database_unavailable(sys.exc_info()[1]):
        logger.warning("Database unavailable during %s %s", request.method, request.path)
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponseServerError(loader.get_template("500.html").render())
