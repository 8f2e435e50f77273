"""Surge in the admin (surge app, docs/surge.md): the queue watch, its alerts, and reinforcements.

Supervisors only, by the Django permissions accounts.groups gives them (superusers have all), and the services
check again that the actor supervises:

- the watch page (``admin:surge-watch``, under the alerts): per department arrivals and handled tickets per hour,
  backlog, projected breaches, the tickets at risk linked to their pages and the department's queue, the
  reinforcements in force (with "End now") and a link to add one;
- the alerts the watch raised (read-only), each with "Add reinforcement" for its department;
- reinforcements: the add form (surge.services.reinforcements.reinforcement_add), the list of those in force,
  scheduled and past, and "End now" (``reinforcement_end``). Nothing is edited or deleted: the rows are the record.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from desk.admin.access import request_actor
from kefu.core.errors import DomainError
from routing.models import Department, Reinforcement, reinforcement_active
from surge.models import SurgeAlert
from surge.selectors import queues_watch
from surge.services.reinforcements import reinforcement_add, reinforcement_end, reinforcements_in_force


def _supervising(request: HttpRequest) -> bool:
    return request_actor(request).is_supervisor


def _add_reinforcement_url(department_id: int, reason: str = "") -> str:
    query = {"department": department_id, **({"reason": reason} if reason else {})}
    return f"{reverse('admin:routing_reinforcement_add')}?{urlencode(query)}"


@admin.register(SurgeAlert)
class SurgeAlertAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "department",
        "breaches",
        "hours_to_breach",
        "arrivals_per_hour",
        "handled_per_hour",
        "backlog",
        "notified",
        "reinforce",
    ]
    list_filter = ["department"]
    list_select_related = ["department"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SurgeAlert._meta.fields if f.name != "at_risk"] + ["tickets_at_risk"]
    exclude = ["at_risk"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("reinforce"))
    def reinforce(self, obj: SurgeAlert) -> str:
        reason = _("Surge alert of %(at)s") % {"at": f"{timezone.localtime(obj.created_at):%Y-%m-%d %H:%M}"}
        return format_html(
            '<a class="surge-reinforce" href="{}">{}</a>',
            _add_reinforcement_url(obj.department_id, reason),
            _("Add reinforcement"),
        )

    @admin.display(description=gettext_lazy("tickets at risk"))
    def tickets_at_risk(self, obj: SurgeAlert) -> str:
        links = [
            format_html('<a href="{}">{}</a>', reverse("admin:tickets_ticket_change", args=[row["id"]]), row["number"])
            for row in obj.at_risk
        ]
        return format_html(", ".join(["{}"] * len(links)), *links) if links else "—"

    def get_urls(self) -> list[URLPattern]:
        watch = path("watch/", self.admin_site.admin_view(self.watch_view), name="surge-watch")
        return [watch, *super().get_urls()]

    def watch_view(self, request: HttpRequest) -> HttpResponse:
        """Every department's figures and projection, now (surge.selectors.queues_watch)."""
        if not (self.has_view_permission(request) and _supervising(request)):
            raise PermissionDenied
        now = timezone.now()
        in_force: dict[int, list[Reinforcement]] = defaultdict(list)
        for reinforcement in reinforcements_in_force(now=now):
            in_force[reinforcement.department_id].append(reinforcement)
        departments = {d.code: d for d in Department.objects.order_by("code")}
        queue = reverse("admin:tickets_ticket_changelist")
        rows = []
        for watch in queues_watch(now=now):
            department = departments.get(watch.code)
            if department is None:
                continue
            rows.append(
                {
                    "watch": watch,
                    "queue_url": f"{queue}?{urlencode({'department': watch.code})}",
                    "at_risk": [
                        (ticket, hours, reverse("admin:tickets_ticket_change", args=[ticket.id]))
                        for ticket, hours in watch.at_risk
                    ],
                    "reinforcements": in_force.get(department.pk, []),
                    "add_url": _add_reinforcement_url(department.pk),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Queue watch"),
            "opts": self.model._meta,
            "rows": rows,
            "now": now,
            "horizon": settings.KEFU_SURGE_HORIZON_HOURS,
            "alerts": SurgeAlert.objects.select_related("department")[:10],
        }
        return TemplateResponse(request, "admin/surge/surgealert/watch.html", context)


class ReinforcementForm(forms.ModelForm):
    """The add form: what ``reinforcement_add`` takes; the service decides (its refusals shown on the form)."""

    class Meta:
        model = Reinforcement
        fields = ["user", "department", "starts_at", "ends_at", "cap", "reason"]

    request: HttpRequest
    created: Reinforcement | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.created = reinforcement_add(
                actor=request_actor(self.request),
                user=data["user"],
                department=data["department"],
                starts_at=data.get("starts_at"),
                ends_at=data["ends_at"],
                cap=data["cap"],
                reason=data.get("reason", ""),
            )
        except DomainError as exc:
            field = exc.field if exc.field in self.fields else None
            self.add_error(field, exc.message)
        return data

    def _post_clean(self) -> None:
        # The service validated and wrote the row (in the admin's transaction); the model's own checks would
        # only repeat them on an instance that is not the one written.
        pass


class ReinforcementStatusFilter(admin.SimpleListFilter):
    """In force (the default) and scheduled, or past, or all."""

    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("current", _("In force or scheduled")), ("past", _("Past")), ("all", _("All"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Reinforcement]) -> QuerySet[Reinforcement]:
        now = timezone.now()
        value = self.value() or "current"
        if value == "current":
            return queryset.filter(ended_at=None, ends_at__gt=now)
        if value == "past":
            return queryset.exclude(ended_at=None, ends_at__gt=now)
        return queryset

    def choices(self, changelist: Any) -> Any:
        current = self.value() or "current"
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }


@admin.register(Reinforcement)
class ReinforcementAdmin(admin.ModelAdmin):
    form = ReinforcementForm
    list_display = ["user", "department", "starts_at", "ends_at", "cap", "status", "reason", "created_by", "ended"]
    list_filter = [ReinforcementStatusFilter, "department"]
    list_select_related = ["user", "department", "created_by", "ended_by"]
    search_fields = ["user__username", "reason"]
    actions = ["end_now"]
    readonly_fields = ["created_by", "created_at", "ended_at", "ended_by", "expired_at"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request  # type: ignore[attr-defined]  # the service's actor (ReinforcementForm.clean)
        return form

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":  # only staff members can be moved (a short list: a select, not a search)
            kwargs["queryset"] = User.objects.filter(staff_member__isnull=False, is_active=True).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = {**super().get_changeform_initial_data(request)}
        initial.setdefault("starts_at", timezone.localtime().replace(second=0, microsecond=0))
        return initial

    # Django permissions decide what opens (only the supervisors' group has them; asked for every page's sidebar,
    # so no query of the user's departments here); the services check again that the actor supervises.

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The list's "End now" asks without an object; a reinforcement's own page is read-only.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        return form.created  # written by the service in the form's clean()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        pass

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass

    @admin.display(description=gettext_lazy("status"))
    def status(self, obj: Reinforcement) -> str:
        now = timezone.now()
        if obj.ended_at is not None:
            return _("Ended early")
        if obj.ends_at <= now:
            return _("Expired")
        if obj.starts_at > now:
            return _("Scheduled")
        return _("In force")

    @admin.display(description=gettext_lazy("ended"))
    def ended(self, obj: Reinforcement) -> str:
        if obj.ended_at is not None:
            return f"{timezone.localtime(obj.ended_at):%Y-%m-%d %H:%M} · {obj.ended_by}"
        return "—"

    @admin.action(description=gettext_lazy("End now"), permissions=["change"])
    def end_now(self, request: HttpRequest, queryset: QuerySet[Reinforcement]) -> None:
        ended = 0
        for reinforcement in queryset.filter(reinforcement_active(timezone.now())).order_by("pk"):
            try:
                reinforcement_end(actor=request_actor(request), reinforcement=reinforcement)
            except DomainError as exc:
                self.message_user(request, f"{reinforcement}: {exc.message}", messages.WARNING)
                continue
            ended += 1
        message = ngettext("%(count)d reinforcement ended.", "%(count)d reinforcements ended.", ended)
        self.message_user(request, message % {"count": ended}, messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        end = path("<int:pk>/end/", self.admin_site.admin_view(self.end_view), name="routing_reinforcement_end")
        return [end, *super().get_urls()]

    def end_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The watch page's "End now" (POST)."""
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        reinforcement = get_object_or_404(Reinforcement, pk=pk)
        try:
            reinforcement_end(actor=request_actor(request), reinforcement=reinforcement)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.WARNING)
        else:
            self.message_user(
                request,
                _("%(who)s no longer works the %(department)s queue.")
                % {
                    "who": reinforcement.user,
                    "department": reinforcement.department,
                },
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:surge-watch"))
