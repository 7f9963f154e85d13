"""The default buyer emails, in Liquid: a subject, a plain-text part and an HTML part, in English
and French. The variables offered are those `context.py` builds; nothing else is reachable."""

from __future__ import annotations

_ITEMS_TEXT = """{% for item in items %}- {{ item.quantity }} × {{ item.title }} ({{ item.sku }})
{% endfor %}"""
_ITEMS_HTML = """<ul>{% for item in items %}<li>{{ item.quantity }} × {{ item.title }} \
({{ item.sku }})</li>{% endfor %}</ul>"""
_TRACKING_TEXT = """{% for t in tracking %}{{ t.number }}\
{% if t.url != blank %}: {{ t.url }}{% endif %}
{% endfor %}"""
_TRACKING_HTML = """<ul>{% for t in tracking %}<li>{% if t.url != blank %}<a href="{{ t.url }}">\
{{ t.number }}</a>{% else %}{{ t.number }}{% endif %}</li>{% endfor %}</ul>"""

_PRICED_TEXT = """{% for item in items %}- {{ item.quantity }} × {{ item.title }} ({{ item.sku }}) \
{{ item.line_total }}
{% endfor %}"""
_PRICED_HTML = """<table>{% for item in items %}<tr><td>{{ item.quantity }} ×</td>\
<td>{{ item.title }} ({{ item.sku }})</td><td>{{ item.line_total }}</td></tr>{% endfor %}</table>"""
_ADDRESS_TEXT = """{{ order.shipping_address.name }}
{% if order.shipping_address.company != blank %}{{ order.shipping_address.company }}
{% endif %}{{ order.shipping_address.line1 }}
{% if order.shipping_address.line2 != blank %}{{ order.shipping_address.line2 }}
{% endif %}{{ order.shipping_address.postal_code }} {{ order.shipping_address.city }}\
{% if order.shipping_address.region != blank %} {{ order.shipping_address.region }}{% endif %}
{{ order.shipping_address.country }}
"""
_ADDRESS_HTML = """<p>{{ order.shipping_address.name }}<br>\
{% if order.shipping_address.company != blank %}{{ order.shipping_address.company }}<br>{% endif %}\
{{ order.shipping_address.line1 }}<br>\
{% if order.shipping_address.line2 != blank %}{{ order.shipping_address.line2 }}<br>{% endif %}\
{{ order.shipping_address.postal_code }} {{ order.shipping_address.city }}\
{% if order.shipping_address.region != blank %} {{ order.shipping_address.region }}{% endif %}<br>\
{{ order.shipping_address.country }}</p>"""

_RETURN_LINES_TEXT = """{% for line in return.lines %}- {{ line.quantity }} × {{ line.title }} \
({{ line.sku }}){% if line.reason_label != blank %}: {{ line.reason_label }}{% endif %}
{% endfor %}"""
_RETURN_LINES_HTML = """<ul>{% for line in return.lines %}<li>{{ line.quantity }} × \
{{ line.title }} ({{ line.sku }})\
{% if line.reason_label != blank %}: {{ line.reason_label }}{% endif %}</li>{% endfor %}</ul>"""
_RECEIVED_LINES_TEXT = """{% for line in return.lines %}- {{ line.quantity_received }} × \
{{ line.title }} ({{ line.sku }})
{% endfor %}"""
_RECEIVED_LINES_HTML = """<ul>{% for line in return.lines %}<li>{{ line.quantity_received }} × \
{{ line.title }} ({{ line.sku }})</li>{% endfor %}</ul>"""
_RETURN_ADDRESS_TEXT = """{{ return.address.name }}
{% if return.address.company != blank %}{{ return.address.company }}
{% endif %}{{ return.address.line1 }}
{% if return.address.line2 != blank %}{{ return.address.line2 }}
{% endif %}{{ return.address.postal_code }} {{ return.address.city }}\
{% if return.address.region != blank %} {{ return.address.region }}{% endif %}
{{ return.address.country }}
"""
_RETURN_ADDRESS_HTML = """<p>{{ return.address.name }}<br>\
{% if return.address.company != blank %}{{ return.address.company }}<br>{% endif %}\
{{ return.address.line1 }}<br>\
{% if return.address.line2 != blank %}{{ return.address.line2 }}<br>{% endif %}\
{{ return.address.postal_code }} {{ return.address.city }}\
{% if return.address.region != blank %} {{ return.address.region }}{% endif %}<br>\
{{ return.address.country }}</p>"""


def _approved_text(instructions: str, send_to: str, mark: str) -> str:
    return (
        "{% if return.instructions != blank %}"
        + instructions
        + "\n{{ return.instructions }}\n\n{% endif %}{% if return.address.line1 != blank %}"
        + send_to
        + "\n"
        + _RETURN_ADDRESS_TEXT
        + "\n{% endif %}"
        + mark
        + "\n\n"
    )


def _approved_html(instructions: str, send_to: str, mark: str) -> str:
    return (
        "{% if return.instructions != blank %}<p>"
        + instructions
        + "</p><p>{{ return.instructions | newline_to_br }}</p>{% endif %}"
        "{% if return.address.line1 != blank %}<p>"
        + send_to
        + "</p>"
        + _RETURN_ADDRESS_HTML
        + "{% endif %}<p>"
        + mark
        + "</p>"
    )


DEFAULTS: dict[str, dict[str, dict[str, str]]] = {
    "order_confirmation": {
        "en": {
            "subject": "Order {{ order.number }} confirmed",
            "text": "Hello {{ order.buyer_name }},\n\nThank you for your order "
            "{{ order.number }}. Here is what you ordered:\n\n"
            + _PRICED_TEXT
            + "\nShipping: {{ order.shipping_price }}\nTotal: {{ order.total }}\n\n"
            "It will be sent to:\n" + _ADDRESS_TEXT + "\nWe will tell you when it ships.\n\n"
            "{{ shop.name }}\n",
            "html": "<p>Hello {{ order.buyer_name }},</p><p>Thank you for your order "
            "<strong>{{ order.number }}</strong>. Here is what you ordered:</p>"
            + _PRICED_HTML
            + "<p>Shipping: {{ order.shipping_price }}<br><strong>Total: {{ order.total }}"
            "</strong></p><p>It will be sent to:</p>"
            + _ADDRESS_HTML
            + "<p>We will tell you when it ships.</p><p>{{ shop.name }}</p>",
        },
        "fr": {
            "subject": "Commande {{ order.number }} confirmée",
            "text": "Bonjour {{ order.buyer_name }},\n\nMerci pour votre commande "
            "{{ order.number }}. Voici ce que vous avez commandé :\n\n"
            + _PRICED_TEXT
            + "\nLivraison : {{ order.shipping_price }}\nTotal : {{ order.total }}\n\n"
            "Elle sera envoyée à :\n"
            + _ADDRESS_TEXT
            + "\nNous vous préviendrons de son expédition.\n\n{{ shop.name }}\n",
            "html": "<p>Bonjour {{ order.buyer_name }},</p><p>Merci pour votre commande "
            "<strong>{{ order.number }}</strong>. Voici ce que vous avez commandé :</p>"
            + _PRICED_HTML
            + "<p>Livraison : {{ order.shipping_price }}<br><strong>Total : {{ order.total }}"
            "</strong></p><p>Elle sera envoyée à :</p>"
            + _ADDRESS_HTML
            + "<p>Nous vous préviendrons de son expédition.</p><p>{{ shop.name }}</p>",
        },
    },
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
            "cancelled.{% if order.cancel_reason != blank %} Reason: {{ order.cancel_reason }}."
            "{% endif %}\n\n{{ shop.name }}\n",
            "html": "<p>Hello {{ order.buyer_name }},</p><p>Your order <strong>"
            "{{ order.number }}</strong> was cancelled.{% if order.cancel_reason != blank %} "
            "Reason: {{ order.cancel_reason }}.{% endif %}</p><p>{{ shop.name }}</p>",
        },
        "fr": {
            "subject": "Votre commande {{ order.number }} a été annulée",
            "text": "Bonjour {{ order.buyer_name }},\n\nVotre commande {{ order.number }} a été "
            "annulée.{% if order.cancel_reason != blank %} Motif : {{ order.cancel_reason }}."
            "{% endif %}\n\n{{ shop.name }}\n",
            "html": "<p>Bonjour {{ order.buyer_name }},</p><p>Votre commande <strong>"
            "{{ order.number }}</strong> a été annulée.{% if order.cancel_reason != blank %} "
            "Motif : {{ order.cancel_reason }}.{% endif %}</p><p>{{ shop.name }}</p>",
        },
    },
    "fulfillment_on_hold": {
        "en": {
            "subject": "Please check the address of your order {{ order.number }}",
            "text": "Hello {{ order.buyer_name }},\n\nWe are holding your order "
            "{{ order.number }} because we could not confirm its shipping address:\n\n"
            + _ADDRESS_TEXT
            + "\nPlease reply to this email with the correct address, or to confirm this one, "
            "and we will ship it right away.\n\n{{ shop.name }}\n",
            "html": "<p>Hello {{ order.buyer_name }},</p><p>We are holding your order "
            "<strong>{{ order.number }}</strong> because we could not confirm its shipping "
            "address:</p>"
            + _ADDRESS_HTML
            + "<p>Please reply to this email with the correct address, or to confirm this one, "
            "and we will ship it right away.</p><p>{{ shop.name }}</p>",
        },
        "fr": {
            "subject": "Merci de vérifier l'adresse de votre commande {{ order.number }}",
            "text": "Bonjour {{ order.buyer_name }},\n\nNous retenons votre commande "
            "{{ order.number }} car nous n'avons pas pu confirmer son adresse de livraison :\n\n"
            + _ADDRESS_TEXT
            + "\nMerci de répondre à ce message avec la bonne adresse, ou pour confirmer "
            "celle-ci, et nous l'expédierons aussitôt.\n\n{{ shop.name }}\n",
            "html": "<p>Bonjour {{ order.buyer_name }},</p><p>Nous retenons votre commande "
            "<strong>{{ order.number }}</strong> car nous n'avons pas pu confirmer son adresse "
            "de livraison :</p>"
            + _ADDRESS_HTML
            + "<p>Merci de répondre à ce message avec la bonne adresse, ou pour confirmer "
            "celle-ci, et nous l'expédierons aussitôt.</p><p>{{ shop.name }}</p>",
        },
    },
    "refund": {
        "en": {
            "subject": "Refund for your order {{ order.number }}",
            "text": "Hello {{ order.buyer_name }},\n\nWe have refunded {{ refund.amount }} for "
            "your order {{ order.number }}.{% if refund.reason != blank %} Reason: "
            "{{ refund.reason }}.{% endif %} Depending on your bank, it can take a few days to "
            "appear.\n\n{{ shop.name }}\n",
            "html": "<p>Hello {{ order.buyer_name }},</p><p>We have refunded <strong>"
            "{{ refund.amount }}</strong> for your order <strong>{{ order.number }}</strong>."
            "{% if refund.reason != blank %} Reason: {{ refund.reason }}.{% endif %} Depending "
            "on your bank, it can take a few days to appear.</p><p>{{ shop.name }}</p>",
        },
        "fr": {
            "subject": "Remboursement de votre commande {{ order.number }}",
            "text": "Bonjour {{ order.buyer_name }},\n\nNous avons remboursé {{ refund.amount }} "
            "pour votre commande {{ order.number }}.{% if refund.reason != blank %} Motif : "
            "{{ refund.reason }}.{% endif %} Selon votre banque, il peut apparaître sous "
            "quelques jours.\n\n{{ shop.name }}\n",
            "html": "<p>Bonjour {{ order.buyer_name }},</p><p>Nous avons remboursé <strong>"
            "{{ refund.amount }}</strong> pour votre commande <strong>{{ order.number }}"
            "</strong>.{% if refund.reason != blank %} Motif : {{ refund.reason }}.{% endif %} "
            "Selon votre banque, il peut apparaître sous quelques jours.</p><p>{{ shop.name }}</p>",
        },
    },
    "return_requested": {
        "en": {
            "subject": "Your return request {{ return.number }} for order {{ order.number }}",
            "text": "Hello {{ order.buyer_name }},\n\nWe have your return request "
            "{{ return.number }} for order {{ order.number }}:\n\n"
            + _RETURN_LINES_TEXT
            + "\nWe will let you know once we have looked at it.\n\n{{ shop.name }}\n",
            "html": "<p>Hello {{ order.buyer_name }},</p><p>We have your return request "
            "<strong>{{ return.number }}</strong> for order <strong>{{ order.number }}"
            "</strong>:</p>"
            + _RETURN_LINES_HTML
            + "<p>We will let you know once we have looked at it.</p><p>{{ shop.name }}</p>",
        },
        "fr": {
            "subject": "Votre demande de retour {{ return.number }} pour la commande "
            "{{ order.number }}",
            "text": "Bonjour {{ order.buyer_name }},\n\nNous avons bien reçu votre demande de "
            "retour {{ return.number }} pour la commande {{ order.number }} :\n\n"
            + _RETURN_LINES_TEXT
            + "\nNous vous tiendrons informé(e) dès que nous l'aurons examinée.\n\n"
            "{{ shop.name }}\n",
            "html": "<p>Bonjour {{ order.buyer_name }},</p><p>Nous avons bien reçu votre demande "
            "de retour <strong>{{ return.number }}</strong> pour la commande <strong>"
            "{{ order.number }}</strong> :</p>"
            + _RETURN_LINES_HTML
            + "<p>Nous vous tiendrons informé(e) dès que nous l'aurons examinée.</p>"
            "<p>{{ shop.name }}</p>",
        },
    },
    "return_approved": {
        "en": {
            "subject": "Your return {{ return.number }} for order {{ order.number }} is approved",
            "text": "Hello {{ order.buyer_name }},\n\nYour return {{ return.number }} for "
            "order {{ order.number }} is approved:\n\n"
            + _RETURN_LINES_TEXT
            + "\n"
            + _approved_text(
                "How to send the items back:",
                "Send them to:",
                "Please write {{ return.number }} on a note inside the parcel.",
            )
            + "{{ shop.name }}\n",
            "html": "<p>Hello {{ order.buyer_name }},</p><p>Your return <strong>"
            "{{ return.number }}</strong> for order <strong>{{ order.number }}</strong> is "
            "approved:</p>"
            + _RETURN_LINES_HTML
            + _approved_html(
                "How to send the items back:",
                "Send them to:",
                "Please write <strong>{{ return.number }}</strong> on a note inside the parcel.",
            )
            + "<p>{{ shop.name }}</p>",
        },
        "fr": {
            "subject": "Votre retour {{ return.number }} pour la commande {{ order.number }} "
            "est accepté",
            "text": "Bonjour {{ order.buyer_name }},\n\nVotre retour {{ return.number }} pour "
            "la commande {{ order.number }} est accepté :\n\n"
            + _RETURN_LINES_TEXT
            + "\n"
            + _approved_text(
                "Pour nous renvoyer les articles :",
                "Envoyez-les à :",
                "Merci d'indiquer {{ return.number }} sur un mot glissé dans le colis.",
            )
            + "{{ shop.name }}\n",
            "html": "<p>Bonjour {{ order.buyer_name }},</p><p>Votre retour <strong>"
            "{{ return.number }}</strong> pour la commande <strong>{{ order.number }}</strong> "
            "est accepté :</p>"
            + _RETURN_LINES_HTML
            + _approved_html(
                "Pour nous renvoyer les articles :",
                "Envoyez-les à :",
                "Merci d'indiquer <strong>{{ return.number }}</strong> sur un mot glissé dans "
                "le colis.",
            )
            + "<p>{{ shop.name }}</p>",
        },
    },
    "return_rejected": {
        "en": {
            "subject": "Your return request {{ return.number }} for order {{ order.number }} "
            "was declined",
            "text": "Hello {{ order.buyer_name }},\n\nWe are sorry: we cannot accept your "
            "return request {{ return.number }} for order {{ order.number }}."
            "{% if return.rejection_reason != blank %}\n\nReason: {{ return.rejection_reason }}"
            "{% endif %}\n\nReply to this email if you have any question.\n\n"
            "{{ shop.name }}\n",
            "html": "<p>Hello {{ order.buyer_name }},</p><p>We are sorry: we cannot accept "
            "your return request <strong>{{ return.number }}</strong> for order <strong>"
            "{{ order.number }}</strong>.</p>{% if return.rejection_reason != blank %}<p>Reason: "
            "{{ return.rejection_reason }}</p>{% endif %}<p>Reply to this email if you have "
            "any question.</p><p>{{ shop.name }}</p>",
        },
        "fr": {
            "subject": "Votre demande de retour {{ return.number }} pour la commande "
            "{{ order.number }} est refusée",
            "text": "Bonjour {{ order.buyer_name }},\n\nNous sommes désolés : nous ne pouvons "
            "pas accepter votre demande de retour {{ return.number }} pour la commande "
            "{{ order.number }}.{% if return.rejection_reason != blank %}\n\nMotif : "
            "{{ return.rejection_reason }}{% endif %}\n\nRépondez à ce message pour toute "
            "question.\n\n{{ shop.name }}\n",
            "html": "<p>Bonjour {{ order.buyer_name }},</p><p>Nous sommes désolés : nous ne "
            "pouvons pas accepter votre demande de retour <strong>{{ return.number }}</strong> "
            "pour la commande <strong>{{ order.number }}</strong>.</p>"
            "{% if return.rejection_reason != blank %}<p>Motif : {{ return.rejection_reason }}</p>"
            "{% endif %}<p>Répondez à ce message pour toute question.</p><p>{{ shop.name }}</p>",
        },
    },
    "return_received": {
        "en": {
            "subject": "We received your return {{ return.number }} for order {{ order.number }}",
            "text": "Hello {{ order.buyer_name }},\n\nYour return {{ return.number }} for "
            "order {{ order.number }} has arrived:\n\n"
            + _RECEIVED_LINES_TEXT
            + "\nWe will check the items and tell you about your refund.\n\n{{ shop.name }}\n",
            "html": "<p>Hello {{ order.buyer_name }},</p><p>Your return <strong>"
            "{{ return.number }}</strong> for order <strong>{{ order.number }}</strong> has "
            "arrived:</p>"
            + _RECEIVED_LINES_HTML
            + "<p>We will check the items and tell you about your refund.</p>"
            "<p>{{ shop.name }}</p>",
        },
        "fr": {
            "subject": "Nous avons reçu votre retour {{ return.number }} pour la commande "
            "{{ order.number }}",
            "text": "Bonjour {{ order.buyer_name }},\n\nVotre retour {{ return.number }} pour "
            "la commande {{ order.number }} nous est parvenu :\n\n"
            + _RECEIVED_LINES_TEXT
            + "\nNous allons vérifier les articles et revenir vers vous pour le remboursement."
            "\n\n{{ shop.name }}\n",
            "html": "<p>Bonjour {{ order.buyer_name }},</p><p>Votre retour <strong>"
            "{{ return.number }}</strong> pour la commande <strong>{{ order.number }}</strong> "
            "nous est parvenu :</p>"
            + _RECEIVED_LINES_HTML
            + "<p>Nous allons vérifier les articles et revenir vers vous pour le remboursement."
            "</p><p>{{ shop.name }}</p>",
        },
    },
}
LOCALES = ("en", "fr")
