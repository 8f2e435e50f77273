"""The templates shipped for every event in zh-hans and en (seeded into the database by migration 0002,
where supervisors edit them; these are also the fallback when a row is missing or inactive).
"""

from __future__ import annotations

# (event, language) -> (subject, body). Channel-independent; SMS uses the body alone.
DEFAULT_TEMPLATES: dict[tuple[str, str], tuple[str, str]] = {
    ("ticket_created", "zh-hans"): (
        "售后单 {{ ticket.number }} 已受理",
        "您的{{ ticket.kind_label }}申请（订单 {{ order.number }}）已提交，单号 {{ ticket.number }}，"
        "当前状态：{{ ticket.state_label }}。{% if due_at %}我们将在 {{ due_at }} 前处理。{% endif %}",
    ),
    ("ticket_created", "en"): (
        "After-sales request {{ ticket.number }} received",
        "Your {{ ticket.kind_label }} request for order {{ order.number }} is {{ ticket.number }}, now "
        "{{ ticket.state_label }}.{% if due_at %} We will handle it by {{ due_at }}.{% endif %}",
    ),
    ("state_changed", "zh-hans"): (
        "售后单 {{ ticket.number }}：{{ ticket.state_label }}",
        "售后单 {{ ticket.number }}（订单 {{ order.number }}）状态更新为：{{ ticket.state_label }}。"
        "{% if reason %}说明：{{ reason }}。{% endif %}{% if due_at %}截止时间：{{ due_at }}。{% endif %}",
    ),
    ("state_changed", "en"): (
        "{{ ticket.number }}: {{ ticket.state_label }}",
        "Ticket {{ ticket.number }} (order {{ order.number }}) is now {{ ticket.state_label }}."
        "{% if reason %} Note: {{ reason }}.{% endif %}{% if due_at %} Due by {{ due_at }}.{% endif %}",
    ),
    ("assigned", "zh-hans"): (
        "新分配：{{ ticket.number }}",
        "{{ assignee }}，售后单 {{ ticket.number }}（{{ ticket.kind_label }}，{{ ticket.state_label }}）已分配给您。"
        "{% if due_at %}截止：{{ due_at }}。{% endif %}",
    ),
    ("assigned", "en"): (
        "Assigned to you: {{ ticket.number }}",
        "{{ assignee }}, ticket {{ ticket.number }} ({{ ticket.kind_label }}, {{ ticket.state_label }}) is yours."
        "{% if due_at %} Due by {{ due_at }}.{% endif %}",
    ),
    ("deadline_warning", "zh-hans"): (
        "即将超时：{{ ticket.number }}",
        "售后单 {{ ticket.number }}（{{ ticket.state_label }}）将于 {{ due_at }} 到期，请尽快处理。",
    ),
    ("deadline_warning", "en"): (
        "Deadline approaching: {{ ticket.number }}",
        "Ticket {{ ticket.number }} ({{ ticket.state_label }}) is due at {{ due_at }}. Please act now.",
    ),
    ("sla_breached", "zh-hans"): (
        "已超时升级：{{ ticket.number }}",
        "售后单 {{ ticket.number }}（{{ ticket.state_label }}，{{ department }}）已超时并升级给主管。{{ reason }}",
    ),
    ("sla_breached", "en"): (
        "SLA breached: {{ ticket.number }}",
        "Ticket {{ ticket.number }} ({{ ticket.state_label }}, {{ department }}) missed its deadline and was "
        "escalated to supervisors. {{ reason }}",
    ),
    ("public_comment", "zh-hans"): (
        "售后单 {{ ticket.number }} 有新回复",
        "售后单 {{ ticket.number }} 有新回复：{{ comment }}",
    ),
    ("public_comment", "en"): (
        "New reply on {{ ticket.number }}",
        "New reply on ticket {{ ticket.number }}: {{ comment }}",
    ),
    ("closed", "zh-hans"): (
        "售后单 {{ ticket.number }} 已结束",
        "售后单 {{ ticket.number }}（订单 {{ order.number }}）已结束：{{ ticket.state_label }}。"
        "{% if reason %}说明：{{ reason }}。{% endif %}感谢您的耐心。",
    ),
    # Staff wording: what department robots and members read (never the buyer's "your request …").
    ("ticket_arrived", "zh-hans"): (
        "待处理：{{ ticket.number }}（{{ department }}）",
        "{{ department }}：{{ ticket.kind_label }} {{ ticket.number }}（订单 {{ order.number }}，店铺 {{ shop.name }}）"
        "当前状态「{{ ticket.state_label }}」，需要处理。{% if due_at %}截止：{{ due_at }}。{% endif %}",
    ),
    ("ticket_arrived", "en"): (
        "For {{ department }}: {{ ticket.number }}",
        "{{ ticket.kind_label }} {{ ticket.number }} (order {{ order.number }}, shop {{ shop.name }}) is now "
        "{{ ticket.state_label }} and needs {{ department }}.{% if due_at %} Due by {{ due_at }}.{% endif %}",
    ),
    ("deadline_acted", "zh-hans"): (
        "超时自动处理：{{ ticket.number }}",
        "售后单 {{ ticket.number }}（订单 {{ order.number }}）已超时，系统已自动处理。{{ reason }}"
        "当前状态：{{ ticket.state_label }}。",
    ),
    ("deadline_acted", "en"): (
        "Acted on automatically: {{ ticket.number }}",
        "Ticket {{ ticket.number }} (order {{ order.number }}) passed its deadline and the system acted. {{ reason }} "
        "It is now {{ ticket.state_label }}.",
    ),
    ("closed", "en"): (
        "Ticket {{ ticket.number }} closed",
        "Ticket {{ ticket.number }} (order {{ order.number }}) ended: {{ ticket.state_label }}."
        "{% if reason %} Note: {{ reason }}.{% endif %} Thank you for your patience.",
    ),
    ("risk_flagged", "zh-hans"): (
        "风险提示：{{ ticket.number }}",
        "{{ ticket.kind_label }} {{ ticket.number }}（订单 {{ order.number }}，店铺 {{ shop.name }}，"
        "{{ ticket.state_label }}）：{{ reason }} 系统不会自动同意或退款，请主管处理。",
    ),
    ("risk_flagged", "en"): (
        "Risk flag: {{ ticket.number }}",
        "{{ ticket.kind_label }} {{ ticket.number }} (order {{ order.number }}, shop {{ shop.name }}, "
        "{{ ticket.state_label }}): {{ reason }} Nothing is approved or refunded automatically; a supervisor decides.",
    ),
    # 回访: the buyer's satisfaction request (quality.services.survey_request); ``survey_url`` is the signed link.
    ("satisfaction_request", "zh-hans"): (
        "售后单 {{ ticket.number }} 服务评价",
        "您好，售后单 {{ ticket.number }}（订单 {{ order.number }}）已处理完毕。请为本次服务打分（1–5 分）："
        "{{ survey_url }} 链接 {{ survey_expires }} 前有效。",
    ),
    ("satisfaction_request", "en"): (
        "How did we do with {{ ticket.number }}?",
        "Ticket {{ ticket.number }} (order {{ order.number }}) is resolved. Please rate our service from 1 to 5: "
        "{{ survey_url }} The link works until {{ survey_expires }}.",
    ),
    # Staff wording: a buyer's low answer opened a follow-up for the supervisors.
    ("low_satisfaction", "zh-hans"): (
        "差评回访：{{ ticket.number }}（{{ score }} 分）",
        "买家对售后单 {{ ticket.number }}（订单 {{ order.number }}，店铺 {{ shop.name }}）打了 {{ score }} 分。"
        "{% if comment %}留言：{{ comment }}。{% endif %}已创建回访任务，请主管跟进。",
    ),
    ("low_satisfaction", "en"): (
        "Low score on {{ ticket.number }} ({{ score }}/5)",
        "The buyer rated ticket {{ ticket.number }} (order {{ order.number }}, shop {{ shop.name }}) {{ score }}/5."
        "{% if comment %} Comment: {{ comment }}.{% endif %} A follow-up task is open for the supervisors.",
    ),
    # Staff wording: a department's queue is projected to breach (surge); ``at_risk`` lists the tickets with links.
    ("surge_alert", "zh-hans"): (
        "积压预警：{{ department }} 预计 {{ breaches }} 单超时",
        "{{ department }} 队列预计在 {{ horizon }} 小时内有 {{ breaches }} 单超时"
        "{% if hours_to_breach %}，最早约 {{ hours_to_breach }} 小时后{% endif %}。"
        "进线 {{ arrivals }} 单/小时，处理 {{ handled }} 单/小时，积压 {{ backlog }} 单。"
        "风险工单：{{ at_risk }} 查看与调配支援：{{ watch_url }}",
    ),
    ("surge_alert", "en"): (
        "Queue alert: {{ department }}, {{ breaches }} breaches projected",
        "The {{ department }} queue is projected to breach {{ breaches }} deadlines within {{ horizon }} h"
        "{% if hours_to_breach %}, the first in about {{ hours_to_breach }} h{% endif %}. Arriving {{ arrivals }}/h, "
        "handled {{ handled }}/h, backlog {{ backlog }}. At risk: {{ at_risk }} Watch and reinforce: {{ watch_url }}",
    ),
    # Incidents: one message to every affected buyer (incidents.messaging). ``incident_message`` is the incident's
    # own text in the buyer's language, ``offers`` what they may choose, ``answer_url`` the signed answer link.
    ("incident_notice", "zh-hans"): (
        "订单 {{ order.number }} 的重要通知",
        "{{ incident_message }}{% if expected_delivery %}预计送达日期：{{ expected_delivery }}。{% endif %}"
        "{% if offers %}您可以选择：{{ offers }}。请点击链接告诉我们您的选择：{{ answer_url }} {% endif %}"
        "售后单 {{ ticket.number }}，{{ shop.name }}。",
    ),
    ("incident_notice", "en"): (
        "Important news about order {{ order.number }}",
        "{{ incident_message }}{% if expected_delivery %} Expected delivery: {{ expected_delivery }}.{% endif %}"
        "{% if offers %} You may choose: {{ offers }}. Tell us your choice here: {{ answer_url }}{% endif %}"
        " Ticket {{ ticket.number }}, {{ shop.name }}.",
    ),
    ("incident_closed", "zh-hans"): (
        "订单 {{ order.number }}：事件已处理完毕",
        "{{ closing_message }} 售后单 {{ ticket.number }}（{{ ticket.state_label }}），{{ shop.name }}。",
    ),
    ("incident_closed", "en"): (
        "Order {{ order.number }}: the incident is over",
        "{{ closing_message }} Ticket {{ ticket.number }} ({{ ticket.state_label }}), {{ shop.name }}.",
    ),
}
