from django.utils.cache import patch_cache_control


class PrivateCacheMiddleware:
    """Every page and API answer is for one user: no shared cache (a proxy, a CDN) may keep
    it, and the browser does not store it either, so the back button after signing out on a
    shared computer shows nothing. A view that sets its own Cache-Control keeps it."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response
