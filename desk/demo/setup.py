"""The demo's configuration: its shops, staff logins, catalogue; making sure of the logins; deleting the demo."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import connection

from accounts.groups import FINANCE_GROUP, groups_ensure
from connectors.models import InboxMessage, PlatformCase, Reconciliation, ShopConnection, WriteBack
from desk.demo import marketplaces as mp
from orders.models import Buyer, Channel, Order, Shop
from routing.models import Department, StaffMember
from tickets.actors import Role
from tickets.models import (
    Attachment,
    Refund,
    Ticket,
    TicketEvent,
    TicketLine,
)

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "admin"  # noqa: S105 -- the demo login printed by `make run`; refused unless DEBUG is on
STAFF_PASSWORD = "demo12345"  # noqa: S105 -- demo staff logins, same rule
# username → the department group it works in (tickets.actors.staff_departments reads the group names).
STAFF = {"ops1": Role.OPERATIONS, "wh1": Role.WAREHOUSE, "lg1": Role.LOGISTICS, "sup1": Role.SUPERVISORS}
# username → a group that is no department: finance records the manual refund payouts (the finance queue).
OTHER_STAFF = {"fin1": FINANCE_GROUP}
SHOPS = [
    ("demo-taobao", "糖果家居 淘宝旗舰店", Channel.TAOBAO, "TB"),
    ("demo-jd", "糖果家居 京东店", Channel.JD, "JD"),
    (mp.PDD_SHOP, "糖果家居 拼多多店", Channel.PDD, "PD"),
    ("demo-own", "糖果家居 官方商城", Channel.OWN, "OW"),
]
DEMO_SHOP_CODES = [code for code, *_ in SHOPS]


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    price: str


CATALOG = {
    item.sku: item
    for item in [
        Item("TEE-WHT-M", "纯棉圆领T恤 白色 M", "79.00"),
        Item("TEE-WHT-L", "纯棉圆领T恤 白色 L", "79.00"),
        Item("MUG-BLUE", "陶瓷马克杯 湖蓝", "39.90"),
        Item("KETTLE-17", "不锈钢电热水壶 1.7L", "159.00"),
        Item("PILLOW-MF", "记忆棉护颈枕", "129.00"),
        Item("SHOE-RUN-42", "轻量跑步鞋 42码", "399.00"),
        Item("SHOE-RUN-43", "轻量跑步鞋 43码", "399.00"),
        Item("EARBUDS-BT", "蓝牙降噪耳机", "299.00"),
        Item("TOWEL-SET3", "长绒棉毛巾三件套", "59.00"),
        Item("LAMP-LED", "LED 护眼台灯", "189.00"),
        Item("RICE-COOKER", "智能电饭煲 4L", "349.00"),
    ]
}


def users_ensure() -> dict[str, User]:
    """The superuser admin/admin and one staff member per department (idempotent).

    Each staff user is in the Django group named after their department (admin permissions) and is an
    on-duty ``routing.StaffMember`` of that department, so routing assigns them their department's tickets.
    Their e-mail addresses make the outbox's staff notifications visible on the worker's console.
    """
    user_model = get_user_model()
    admin, created = user_model.objects.get_or_create(username=DEMO_USERNAME)
    # The login `make run` prints must work, so an existing demo user gets its rights and password back.
    if created or not (admin.is_staff and admin.is_superuser and admin.check_password(DEMO_PASSWORD)):
        admin.is_staff = admin.is_superuser = admin.is_active = True
        admin.set_password(DEMO_PASSWORD)
        admin.save()
    # The groups and their permissions are the accounts app's (its migration made them; a flushed test
    # database has none, so they are made sure of here too).
    groups_ensure()
    users: dict[str, User] = {DEMO_USERNAME: admin}
    for username, role in STAFF.items():
        group = Group.objects.get(name=role.value)
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={"is_staff": True, "first_name": username, "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(STAFF_PASSWORD)
            user.save(update_fields=["password"])
        elif not user.is_staff:
            user.is_staff = True  # the admin login needs it
            user.save(update_fields=["is_staff"])
        user.groups.add(group)
        department, _ = Department.objects.get_or_create(code=role.value, defaults={"name": str(role.label)})
        member, _ = StaffMember.objects.get_or_create(user=user)
        member.departments.add(department)
        users[username] = user
    for username, group_name in OTHER_STAFF.items():
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={"is_staff": True, "first_name": username, "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(STAFF_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=group_name))
        users[username] = user
    return users


# -- reset --------------------------------------------------------------------------------------------------


def demo_delete() -> int:
    """Delete the demo shops and everything of theirs; returns how many tickets went.

    The timeline is append-only (on PostgreSQL a trigger refuses DELETE), so its guard is switched off for
    this transaction only; this runs with DEBUG on, on demo data, and nowhere else.
    """
    tickets = Ticket.objects.filter(shop__code__in=DEMO_SHOP_CODES)
    ids = list(tickets.values_list("pk", flat=True))
    connections = ShopConnection.objects.filter(shop__code__in=DEMO_SHOP_CODES)
    for model in (WriteBack, InboxMessage, Reconciliation, PlatformCase):
        model.objects.filter(connection__in=connections).delete()
    connections.delete()
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            # ALTER TABLE refuses while deferred foreign-key checks on the table are pending (rows written
            # earlier in this transaction); running them now clears the queue.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE tickets_ticketevent DISABLE TRIGGER tickets_ticketevent_append_only")
    TicketEvent.objects.filter(ticket_id__in=ids).delete()
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE tickets_ticketevent ENABLE TRIGGER tickets_ticketevent_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys are INITIALLY DEFERRED
    for attachment in Attachment.objects.filter(ticket_id__in=ids):
        attachment.file.delete(save=False)
    Attachment.objects.filter(ticket_id__in=ids).delete()
    Refund.objects.filter(ticket_id__in=ids).delete()
    TicketLine.objects.filter(ticket_id__in=ids).delete()
    # ``origin`` protects a ticket while tickets linked to it exist: delete the linked ones first.
    left = ids
    while left:
        linked_to = set(Ticket.objects.filter(origin_id__in=left).values_list("origin_id", flat=True))
        Ticket.objects.filter(pk__in=[pk for pk in left if pk not in linked_to]).delete()
        left = [pk for pk in left if pk in linked_to]
    Order.objects.filter(shop__code__in=DEMO_SHOP_CODES).delete()
    Buyer.objects.filter(shop__code__in=DEMO_SHOP_CODES).delete()
    Shop.objects.filter(code__in=DEMO_SHOP_CODES).delete()
    return len(ids)


# -- the simulated marketplace shops ----------------------------------------------------------------------------


def marketplaces_connect(*, port: int) -> list[ShopConnection]:
    """Connect the demo Taobao and Pinduoduo shops to the demo's simulators (``desk.demo.marketplaces``), whose
    ports follow the web server's ``port``. Idempotent: an existing connection gets the URL and demo credentials
    again (and is active); its pull cursor and history stay. The shops are made when missing (demo data from before
    the Pinduoduo shop existed)."""
    made = []
    for code, platform, external_id, url, key, secret, token, address in (
        (
            mp.TAOBAO_SHOP,
            "taobao",
            mp.TAOBAO_NICK,
            mp.taobao_url(port),
            mp.TAOBAO_APP_KEY,
            mp.TAOBAO_APP_SECRET,
            mp.TAOBAO_SESSION,
            mp.TAOBAO_ADDRESS_ID,
        ),
        (
            mp.PDD_SHOP,
            "pdd",
            mp.PDD_MALL_ID,
            mp.pdd_url(port),
            mp.PDD_CLIENT_ID,
            mp.PDD_CLIENT_SECRET,
            mp.PDD_ACCESS_TOKEN,
            mp.PDD_ADDRESS_ID,
        ),
    ):
        name, channel = next((n, c) for shop_code, n, c, _ in SHOPS if shop_code == code)
        shop, _ = Shop.objects.get_or_create(code=code, defaults={"name": name, "channel": channel})
        made.append(
            ShopConnection.objects.update_or_create(
                platform=platform,
                external_id=external_id,
                defaults={
                    "shop": shop,
                    "active": True,
                    "base_url": url,
                    "app_key": key,
                    "app_secret": secret,
                    "access_token": token,
                    "return_address_id": address,
                },
            )[0]
        )
    return made
