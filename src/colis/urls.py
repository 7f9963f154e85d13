from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.generic import RedirectView

from colis.api.main import api
from colis.api.middleware import error_response

urlpatterns = [
    path("api/v1/", api.urls),
    path("portal/", include("colis.web.portal")),
    path("app/", include("colis.web.urls")),
    path("returns/", include("colis.web.returns_portal")),
    path("", RedirectView.as_view(url="/app/", permanent=False)),
]


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(404, "not_found", f"No such path: {request.path}")


def handler500(request: HttpRequest) -> HttpResponse:
    return error_response(500, "server_error", "Something went wrong on our side.")


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(400, "bad_request", "The request could not be read.")
