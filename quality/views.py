"""The satisfaction page a buyer opens from the link (``/survey/<token>/``): public, in the buyer's language.

The link is the only credential (quality.tokens). A tampered or unknown link answers 404 and an expired one 410,
both with a friendly page in the browser's language, never an error page. The form posts back to the same URL;
a recorded answer redirects to the thank-you view of the same page (so a reload does not post again).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from quality.models import SCORES, Survey
from quality.services import SurveyAlreadyAnswered, SurveyExpired, SurveyInvalidAnswer, survey_answer
from quality.tokens import TokenExpired, TokenInvalid, survey_id_from_token


def _unusable(request: HttpRequest, *, expired: bool) -> HttpResponse:
    return render(request, "quality/survey_unusable.html", {"expired": expired}, status=410 if expired else 404)


# No CSRF token: the signed link is the only credential and a forged post would need it, so a cookie adds
# nothing, and in-app browsers (WeChat, Taobao) that drop cookies would otherwise get Django's 403 page.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def survey_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        survey_id = survey_id_from_token(token)
    except TokenExpired:
        return _unusable(request, expired=True)
    except TokenInvalid:
        return _unusable(request, expired=False)
    survey = Survey.objects.select_related("ticket", "ticket__shop").filter(pk=survey_id).first()
    if survey is None:
        return _unusable(request, expired=False)
    with translation.override(survey.language):
        error = ""
        status = 200
        if request.method == "POST" and not survey.answered:
            try:
                survey_answer(
                    survey_id=survey.pk, score=request.POST.get("score"), comment=request.POST.get("comment", "")
                )
            except SurveyExpired:
                return _unusable(request, expired=True)
            except SurveyAlreadyAnswered:
                pass
            except SurveyInvalidAnswer as exc:
                error, status = str(exc), 400
            else:
                return HttpResponseRedirect(request.path)
            survey.refresh_from_db()
        context = {
            "survey": survey,
            "ticket": survey.ticket,
            "scores": list(SCORES),
            "error": error,
            "chosen": request.POST.get("score", ""),
            "comment": request.POST.get("comment", ""),
            "language": survey.language,
        }
        return render(request, "quality/survey.html", context, status=status)
