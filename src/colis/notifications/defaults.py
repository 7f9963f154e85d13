"""The default buyer emails, in Liquid: a subject, a plain-text part and an HTML part, in English
and French. The variables offered are those `context.py` builds; nothing else is reachable."""

from __future__ import annotations

_ITEMS_TEXT = """{% for item in items %}- {{ item.quantity }} × {{ item.title }} ({{ item.sku }})
{% endfor %}"""
_ITEMS_HTML = """<ul>{% for item in items %}<li>{{ item.quantity }} × {{ item.title }} \
({{ item.sku }})</li>{% endfor %}</ul>"""
_TRACKING_TEXT = """{% for t in tracking %}{{ t.number }}{% if t.url %}: {{ t.url }}{% endif %}
{% endfor %}"""
_TRACKING_HTML = """<ul>{% for t in tracking %}<li>{% if t.url %}<a href="{{ t.url }}">\
{{ t.number }}</a>{% else %}{{ t.number }}{% endif %}</li>{% endfor %}</ul>"""

DEFAULTS: dict[str, dict[str, dict[str, str]]] = {
    "shipping_confirmation": {
        "en": {
            "subject": "Your order {{ order.number }} is on its way",
            "text": "Hello {{ order.buyer_name }},\n\nGood news: part or all of your order "
            "{{ order.number }} has shipped with {{ shipment.carrier_name }}.\n\n"
            + _ITEMS_TEXT
            + "\nTracking:\n"
            + _TRACKING_TEXT
            + "\n{{ shop.name }}\n",
            "html": "<p>Hello {{ order.buyer_name }},</p><p>Good news: part or all of your order "
            "<strong>{{ order.number }}</strong> has shipped with {{ shipment.carrier_name }}.</p>"
            + _ITEMS_HTML
            + "<p>Tracking:</p>"
            + _TRACKING_HTML
            + "<p>{{ shop.name }}</p>",
        },
        "fr": {
            "subject": "Votre commande {{ order.number }} est en route",
            "text": "Bonjour {{ order.buyer_name }},\n\nBonne nouvelle : tout ou partie de votre "
            "commande {{ order.number }} a été expédiée avec {{ shipment.carrier_name }}.\n\n"
            + _ITEMS_TEXT
            + "\nSuivi :\n"
            + _TRACKING_TEXT
            + "\n{{ shop.name }}\n",
            "html": "<p>Bonjour {{ order.buyer_name }},</p><p>Bonne nouvelle : tout ou partie de "
            "votre commande <strong>{{ order.number }}</strong> a été expédiée avec "
            "{{ shipment.carrier_name }}.</p>"
            + _ITEMS_HTML
            + "<p>Suivi :</p>"
            + _TRACKING_HTML
            + "<p>{{ shop.name }}</p>",
        },
    },
    "shipping_update": {
        "en": {
            "subject": "New tracking for your order {{ order.number }}",
            "text": "Hello {{ order.buyer_name }},\n\nThe tracking of your parcel from order "
            "{{ order.number }} ({{ shipment.carrier_name }}) has changed:\n"
            + _TRACKING_TEXT
            + "\n{{ shop.name }}\n",
            "html": "<p>Hello {{ order.buyer_name }},</p><p>The tracking of your parcel from "
            "order <strong>{{ order.number }}</strong> ({{ shipment.carrier_name }}) has "
            "changed:</p>" + _TRACKING_HTML + "<p>{{ shop.name }}</p>",
        },
        "fr": {
            "subject": "Nouveau suivi pour votre commande {{ order.number }}",
            "text": "Bonjour {{ order.buyer_name }},\n\nLe suivi de votre colis de la commande "
            "{{ order.number }} ({{ shipment.carrier_name }}) a changé :\n"
            + _TRACKING_TEXT
            + "\n{{ shop.name }}\n",
            "html": "<p>Bonjour {{ order.buyer_name }},</p><p>Le suivi de votre colis de la "
            "commande <strong>{{ order.number }}</strong> ({{ shipment.carrier_name }}) a "
            "changé :</p>" + _TRACKING_HTML + "<p>{{ shop.name }}</p>",
        },
    },
    "delivered": {
        "en": {
            "subject": "Your parcel from order {{ order.number }} was delivered",
            "text": "Hello {{ order.buyer_name }},\n\nYour parcel from order {{ order.number }} "
            "was delivered. Thank you for your order.\n\n{{ shop.name }}\n",
            "html": "<p>Hello {{ order.buyer_name }},</p><p>Your parcel from order "
            "<strong>{{ order.number }}</strong> was delivered. Thank you for your order.</p>"
            "<p>{{ shop.name }}</p>",
        },
        "fr": {
            "subject": "Votre colis de la commande {{ order.number }} a été livré",
            "text": "Bonjour {{ order.buyer_name }},\n\nVotre colis de la commande "
            "{{ order.number }} a été livré. Merci pour votre commande.\n\n{{ shop.name }}\n",
            "html": "<p>Bonjour {{ order.buyer_name }},</p><p>Votre colis de la commande "
            "<strong>{{ order.number }}</strong> a été livré. Merci pour votre commande.</p>"
            "<p>{{ shop.name }}</p>",
        },
    },
    "order_cancelled": {
        "en": {
            "subject": "Your order {{ order.number }} was cancelled",
            "text": "Hello {{ order.buyer_name }},\n\nYour order {{ order.number }} was "
            "cancelled.{% if order.cancel_reason %} Reason: {{ order.cancel_reason }}.{% endif %}"
            "\n\n{{ shop.name }}\n",
            "html": "<p>Hello {{ order.buyer_name }},</p><p>Your order <strong>"
            "{{ order.number }}</strong> was cancelled.{% if order.cancel_reason %} Reason: "
            "{{ order.cancel_reason }}.{% endif %}</p><p>{{ shop.name }}</p>",
        },
        "fr": {
            "subject": "Votre commande {{ order.number }} a été annulée",
            "text": "Bonjour {{ order.buyer_name }},\n\nVotre commande {{ order.number }} a été "
            "annulée.{% if order.cancel_reason %} Motif : {{ order.cancel_reason }}.{% endif %}"
            "\n\n{{ shop.name }}\n",
            "html": "<p>Bonjour {{ order.buyer_name }},</p><p>Votre commande <strong>"
            "{{ order.number }}</strong> a été annulée.{% if order.cancel_reason %} Motif : "
            "{{ order.cancel_reason }}.{% endif %}</p><p>{{ shop.name }}</p>",
        },
    },
}
LOCALES = ("en", "fr")
