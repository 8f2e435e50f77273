"""The page a buyer opens from an incident's message (``/incident/<token>/``): public, phone-sized, in the buyer's
language (their shop's), where they choose among the incident's offers.

The link is the only credential (incidents.tokens). A tampered or unknown link answers 404 and an expired one 410,
both with a friendly page in the browser's language. The form posts back to the same URL; a recorded answer
redirects to the same page, which then shows it (a reload does not post again). The answer is final: a second
post shows the recorded one. Same pattern as the 回访 page (quality.views).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from incidents.answers import AnswerInvalid, AnswerRefused, answer_offers, incident_answer
from incidents.messaging import buyer_language, offers_text
from incidents.models import IncidentOffer, IncidentStatus, IncidentTicket
from incidents.reasons import offer_label, text_in
from incidents.tokens import TokenExpired, TokenInvalid, affected_id_from_token
from tickets.selectors import ticket_get
from tickets.wording import buyer_state_label


def _unusable(request: HttpRequest, *, expired: bool) -> HttpResponse:
    return render(request, "incidents/answer_unusable.html", {"expired": expired}, status=410 if expired else 404)


# No CSRF token: the signed link is the only credential and a forged post would need it, so a cookie adds nothing,
# and in-app browsers (WeChat, Taobao) that drop cookies would otherwise get Django's 403 page.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def answer_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        affected_id = affected_id_from_token(token)
    except TokenExpired:
        return _unusable(request, expired=True)
    except TokenInvalid:
        return _unusable(request, expired=False)
    affected = IncidentTicket.objects.select_related("incident").filter(pk=affected_id).first()
    if affected is None:
        return _unusable(request, expired=False)
    ticket = ticket_get(pk=affected.ticket_id)
    language = buyer_language(ticket)
    with translation.override(language):
        error, status = "", 200
        if request.method == "POST" and affected.answered_at is None:
            try:
                incident_answer(affected_id=affected.pk, choice=request.POST.get("answer"))
            except AnswerInvalid as exc:
                error, status = str(exc), 400
            except AnswerRefused:
                pass  # answered meanwhile, or closed: the page shows which
            else:
                return HttpResponseRedirect(request.path)
            affected.refresh_from_db()
            ticket = ticket_get(pk=affected.ticket_id)
        incident = affected.incident
        offers = answer_offers(affected, ticket)
        context = {
            "incident": incident,
            "affected": affected,
            "ticket": ticket,
            "message": text_in(incident.message, language),
            "closing_message": text_in(incident.closing_message, language),
            "closed": incident.status == IncidentStatus.CLOSED,
            "choices": [(offer, offers_text(incident, [offer]), _offer_help(offer)) for offer in offers],
            "answer_label": offer_label(affected.answer) if affected.answer else "",
            "state_label": buyer_state_label(ticket.kind, ticket.state),
            "error": error,
            "chosen": request.POST.get("answer", ""),
            "language": language,
        }
        return render(request, "incidents/answer.html", context, status=status)


def _offer_help(offer: str) -> str:
    helps: dict[str, str] = {
        IncidentOffer.WAIT: translation.gettext("Keep your order; the compensation is paid to you now."),
        IncidentOffer.EXCHANGE: translation.gettext("We send you the alternative item instead."),
        IncidentOffer.REFUND: translation.gettext("You get your money back for this order."),
    }
    return helps.get(offer, "")
