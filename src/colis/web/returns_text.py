"""What the buyer returns page says, in English and French, and how it picks the language."""

from __future__ import annotations

from colis.notifications.context import REASON_LABELS

LANGS = ("en", "fr")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Returns",
        "intro": "Enter your order number and the email address you ordered with to see what "
        "you can send back.",
        "number": "Order number",
        "email": "Email address",
        "find": "Find my order",
        "nothing": "We found nothing to return for this order number and email address. Check "
        "both, or contact us if you think this is wrong.",
        "too_many": "Too many attempts. Please wait a few minutes and try again.",
        "expired": "This page has expired. Please look your order up again.",
        "choose": "Order {number}: choose what you would like to send back, and tell us why.",
        "item": "Item",
        "returnable": "Can be returned",
        "quantity": "Quantity",
        "reason": "Reason",
        "pick_reason": "Choose a reason",
        "note": "Note",
        "note_hint": "Needed when the reason is Other.",
        "submit": "Request the return",
        "none_chosen": "Choose at least one item to return.",
        "bad_quantity": "{line}: the quantity is a whole number from 0 to {n}.",
        "too_much": "{line}: at most {n} can be returned.",
        "reason_needed": "{line}: choose a reason.",
        "note_needed": "{line}: tell us what is wrong when the reason is Other.",
        "note_too_long": "{line}: the note is at most {n} characters.",
        "refused": "We could not record this return: {message}",
        "done_requested": "Your return {number} is requested. We will email you once we have "
        "looked at it.",
        "done_approved": "Your return {number} is approved.",
        "state": "State",
        "how": "How to send the items back:",
        "send_to": "Send them to:",
        "mark": "Please write {number} on a note inside the parcel.",
        "again": "Look up another order",
        "requested": "requested",
        "approved": "approved",
    },
    "fr": {
        "title": "Retours",
        "intro": "Saisissez votre numéro de commande et l'adresse e-mail utilisée pour la "
        "commande pour voir ce que vous pouvez nous renvoyer.",
        "number": "Numéro de commande",
        "email": "Adresse e-mail",
        "find": "Retrouver ma commande",
        "nothing": "Nous n'avons rien trouvé à retourner pour ce numéro de commande et cette "
        "adresse e-mail. Vérifiez les deux, ou contactez-nous si vous pensez qu'il s'agit d'une "
        "erreur.",
        "too_many": "Trop de tentatives. Merci de patienter quelques minutes avant de réessayer.",
        "expired": "Cette page a expiré. Merci de rechercher à nouveau votre commande.",
        "choose": "Commande {number} : choisissez ce que vous souhaitez nous renvoyer, et "
        "dites-nous pourquoi.",
        "item": "Article",
        "returnable": "Retournable",
        "quantity": "Quantité",
        "reason": "Motif",
        "pick_reason": "Choisissez un motif",
        "note": "Précision",
        "note_hint": "Nécessaire lorsque le motif est Autre.",
        "submit": "Demander le retour",
        "none_chosen": "Choisissez au moins un article à retourner.",
        "bad_quantity": "{line} : la quantité est un nombre entier de 0 à {n}.",
        "too_much": "{line} : au plus {n} peuvent être retournés.",
        "reason_needed": "{line} : choisissez un motif.",
        "note_needed": "{line} : dites-nous ce qui ne va pas lorsque le motif est Autre.",
        "note_too_long": "{line} : la précision fait au plus {n} caractères.",
        "refused": "Nous n'avons pas pu enregistrer ce retour : {message}",
        "done_requested": "Votre retour {number} est demandé. Nous vous écrirons dès que nous "
        "l'aurons examiné.",
        "done_approved": "Votre retour {number} est accepté.",
        "state": "État",
        "how": "Pour nous renvoyer les articles :",
        "send_to": "Envoyez-les à :",
        "mark": "Merci d'indiquer {number} sur un mot glissé dans le colis.",
        "again": "Rechercher une autre commande",
        "requested": "demandé",
        "approved": "accepté",
    },
}


def reasons(lang: str) -> list[tuple[str, str]]:
    """(code, label) of every return reason, in the order a buyer picks from."""
    return list(REASON_LABELS[lang].items())


def lang_short(value: str) -> str:
    """`fr-CA` -> `fr` when it is a language of this page, else ""."""
    short = (value or "").split("-")[0].split("_")[0].strip().lower()
    return short if short in LANGS else ""


def lang_from_header(header: str) -> str:
    """The first language of this page that an Accept-Language header asks for, by weight
    ("" when it names none)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header[:500].split(",")):
        tag, _, params = part.partition(";")
        weight = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                continue
        lang = lang_short(tag)
        if lang and 0 < weight <= 1:
            ranked.append((-weight, i, lang))
    return min(ranked)[2] if ranked else ""
