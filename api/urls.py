"""/api/v1/ routes. URL names use dashes."""

from django.urls import path, re_path

from api.views import evidence, incidents, integrations, opening, staff, storefront
from api.views.unknown import UnknownEndpointApi

app_name = "api"

urlpatterns = [
    # storefront
    path("orders/<str:number>/", storefront.OrderApi.as_view(), name="order"),
    path("tickets/", storefront.TicketListApi.as_view(), name="ticket-list"),
    path("tickets/returns/", opening.ReturnOpenApi.as_view(), name="return-open"),
    path("tickets/exchanges/", opening.ExchangeOpenApi.as_view(), name="exchange-open"),
    path("tickets/complaints/", opening.ComplaintOpenApi.as_view(), name="complaint-open"),
    path("tickets/logistics/", opening.LogisticsOpenApi.as_view(), name="logistics-open"),
    path("tickets/<str:number>/", storefront.TicketDetailApi.as_view(), name="ticket-detail"),
    path("tickets/<str:number>/actions/<str:action>/", storefront.TicketActionApi.as_view(), name="ticket-action"),
    path("tickets/<str:number>/comments/", storefront.TicketCommentApi.as_view(), name="ticket-comment"),
    path("tickets/<str:number>/incident/", incidents.IncidentAnswerApi.as_view(), name="ticket-incident"),
    path("tickets/<str:number>/postage/", storefront.TicketPostageApi.as_view(), name="ticket-postage"),
    path("tickets/<str:number>/evidence/", storefront.TicketEvidenceApi.as_view(), name="ticket-evidence"),
    path(
        "tickets/<str:number>/evidence/<int:attachment_id>/",
        evidence.TicketEvidenceFileApi.as_view(),
        name="ticket-evidence-file",
    ),
    # staff
    path("staff/tickets/", staff.StaffQueueApi.as_view(), name="staff-queue"),
    path("staff/tickets/<str:number>/", staff.StaffTicketDetailApi.as_view(), name="staff-ticket-detail"),
    path("staff/tickets/<str:number>/claim/", staff.StaffClaimApi.as_view(), name="staff-ticket-claim"),
    path("staff/tickets/<str:number>/assign/", staff.StaffAssignApi.as_view(), name="staff-ticket-assign"),
    path(
        "staff/tickets/<str:number>/transitions/<str:transition>/",
        staff.StaffTransitionApi.as_view(),
        name="staff-ticket-transition",
    ),
    path("staff/tickets/<str:number>/comments/", staff.StaffCommentApi.as_view(), name="staff-ticket-comment"),
    path("staff/tickets/<str:number>/evidence/", evidence.StaffEvidenceListApi.as_view(), name="staff-ticket-evidence"),
    path(
        "staff/tickets/<str:number>/evidence/<int:attachment_id>/",
        evidence.StaffEvidenceFileApi.as_view(),
        name="staff-ticket-evidence-file",
    ),
    # integrations
    path("integrations/tracking-events/", integrations.TrackingEventApi.as_view(), name="tracking-event"),
    path(
        "integrations/tickets/<str:number>/received/", integrations.ParcelReceivedApi.as_view(), name="parcel-received"
    ),
    # anything else: the API's JSON 404 (last: it matches every path)
    re_path(r"^.*$", UnknownEndpointApi.as_view(), name="unknown"),
]
