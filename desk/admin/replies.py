"""Canned replies (快捷短语) and macros: their admin for supervisors, and the ticket page's reply tools.

The ticket page (desk/templates/admin/tickets/ticket/reply_tools.html, filled by the ``reply_tools`` template tag
in desk.templatetags.desk_replies) gets two endpoints under the ticket's admin URL from ``ReplyToolsMixin``, one
of ``TicketAdmin``'s bases (its POST goes through the ticket page's ``_act``, as every button's):

- ``<id>/replies/?q=…`` (GET, JSON): the replies of the ticket's shop and the user's departments matching the
  words typed, each already rendered for the ticket in the buyer's language; the page inserts the chosen text
  into the comment box, where the agent may edit it before sending it as a public comment (ticket_comment_add,
  which notifies the buyer).
- ``<id>/macro/`` (POST ``macro``, ``version``): applies a macro through replies.services.macro_apply, all or
  nothing; a refusal becomes a message on the ticket page, like every other button's.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from desk.admin.access import may_act, request_actor, visible_tickets
from desk.admin.forms import VersionForm
from kefu.core.errors import DomainError
from replies.models import CannedReply, CannedReplyText, Macro
from replies.rendering import VARIABLES, template_problem
from replies.selectors import macros_for, replies_for
from replies.services import macro_apply, macro_check, replies_render
from tickets.models import Ticket
from tickets.workflows import model_for_kind

MAX_QUERY_LENGTH = 100


def _variables_help() -> str:
    return format_html(
        "{}<br>{}",
        gettext_lazy("Variables (filled in for the ticket, in the buyer's language):"),
        format_html_join(", ", "<code>{{{{ {} }}}}</code>", ((name,) for name in VARIABLES)),
    )


def _checked(source: str) -> str:
    problem = template_problem(source)
    if problem:
        raise forms.ValidationError(problem)
    return source


class CannedReplyTextForm(forms.ModelForm):
    class Meta:
        model = CannedReplyText
        fields = ["language", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 4, "cols": 80})}

    def clean_body(self) -> str:
        return _checked(self.cleaned_data.get("body", ""))


class CannedReplyTextInline(admin.TabularInline):
    model = CannedReplyText
    form = CannedReplyTextForm
    extra = 2
    min_num = 1
    max_num = 2


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("title", "keywords", "shop", "department", "active")
    list_filter = ("active", "shop", "department")
    search_fields = ("title", "keywords", "texts__body")
    list_select_related = ("shop", "department")
    fields = ("title", "keywords", "shop", "department", "active", "variables")
    readonly_fields = ("variables",)
    inlines = [CannedReplyTextInline]

    @admin.display(description=gettext_lazy("variables"))
    def variables(self, obj: CannedReply | None = None) -> str:
        return _variables_help()


class MacroForm(forms.ModelForm):
    class Meta:
        model = Macro
        fields = ["title", "shop", "department", "active", "reply", "note", "priority", "kind", "action", "inputs"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2, "cols": 80})}

    def clean_note(self) -> str:
        return _checked(self.cleaned_data.get("note", ""))

    def clean_inputs(self) -> Any:
        inputs = self.cleaned_data.get("inputs")
        if inputs in (None, ""):
            return {}
        if not isinstance(inputs, dict):
            raise forms.ValidationError(_('The inputs are a JSON object: {"reason": "…"}.'))
        return inputs

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        macro = Macro(
            kind=cleaned.get("kind", ""), action=(cleaned.get("action") or "").strip(), inputs=cleaned.get("inputs")
        )
        cleaned["action"] = macro.action
        if "inputs" in cleaned:
            try:
                macro_check(macro)
            except DomainError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return cleaned


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    form = MacroForm
    list_display = ("title", "kind", "action", "reply", "priority", "shop", "department", "active")
    list_filter = ("active", "kind", "shop", "department")
    search_fields = ("title", "action")
    list_select_related = ("shop", "department", "reply")
    autocomplete_fields = ("reply",)


# -- the ticket page's endpoints ------------------------------------------------------------------------------


class MacroChoiceForm(VersionForm):
    macro = forms.IntegerField(widget=forms.HiddenInput)


class ReplyToolsMixin:
    """The reply tools' endpoints, for ``TicketAdmin`` (whose ``TicketPageMixin`` provides ``_act``)."""

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path("<path:object_id>/replies/", wrap(self.replies_search_view), name="tickets_ticket_replies"),
            path("<path:object_id>/macro/", wrap(self.macro_view), name="tickets_ticket_macro"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def replies_search_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The replies matching ``q`` for the ticket, rendered for it: ``{"results": [{id, title, body}]}``."""
        if not may_act(request):
            raise PermissionDenied
        ticket = _page_ticket(request, object_id)
        query = request.GET.get("q", "")[:MAX_QUERY_LENGTH]
        found = replies_for(ticket=ticket, actor=request_actor(request), query=query)
        rendered = replies_render(replies=found, ticket=ticket)
        return JsonResponse({"results": [{"id": r.id, "title": r.title, "body": r.body} for r in rendered]})

    def macro_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        actor = request_actor(request)
        chosen_id = request.POST.get("macro", "")
        chosen = (
            Macro.objects.filter(pk=int(chosen_id)).select_related("reply").first() if chosen_id.isdigit() else None
        )

        def work(ticket: Ticket, form: forms.Form) -> str:
            if chosen is None:
                raise DomainError(_("That macro does not exist."))
            updated = macro_apply(macro=chosen, ticket=ticket, actor=actor)
            return _("Macro “%(macro)s” applied: ticket %(number)s is now %(state)s.") % {
                "macro": chosen.title,
                "number": updated.number,
                "state": updated.state_label(),
            }

        return self._act(  # type: ignore[attr-defined]
            request,
            object_id,
            label=chosen.title if chosen is not None else _("Macro"),
            form_class=MacroChoiceForm,
            work=work,
        )


def _page_ticket(request: HttpRequest, object_id: str) -> Ticket:
    """The ticket as its kind with its shop, order and buyer, if this user may see it; else 404."""
    found = visible_tickets(request).filter(pk=object_id).values_list("kind", flat=True) if object_id.isdigit() else []
    kind = next(iter(found), None)
    if kind is None:
        raise Http404
    return model_for_kind(kind).objects.select_related("shop", "order", "buyer").get(pk=object_id)


def reply_tools_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    """What reply_tools.html shows: the macros that apply now, and the endpoints (nothing for who may not act)."""
    if not may_act(request):
        return {}
    return {
        "macros": macros_for(ticket=ticket, actor=request_actor(request)),
        "replies_url": reverse("admin:tickets_ticket_replies", args=[quote(ticket.pk)]),
        "macro_url": reverse("admin:tickets_ticket_macro", args=[quote(ticket.pk)]),
        "version": ticket.version,
    }
