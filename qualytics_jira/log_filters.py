"""Expected refusals (400, 403, 404) are logged as one line, not as a traceback.

Django's `django.request` logger reports a PermissionDenied or Http404 raised by a view as a
warning with the exception attached, so every outsider's 404 and every Member's 403 printed
a traceback. These are the product working as intended; the line keeps the path, the status
and the reason, which is all an operator needs. The same goes for the 400 that
`django.security.DisallowedHost` reports for a request naming a host not in ALLOWED_HOSTS: a
scanner's probe is not a fault of the app.
"""

import logging

EXPECTED_STATUSES = {400, 403, 404}


class ExpectedRefusalsOnOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in EXPECTED_STATUSES and record.exc_info:
            reason = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({reason})" if str(reason) else record.getMessage()
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True
