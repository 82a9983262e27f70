"""How contact channels are normalised before they are stored, compared or searched: one set of
rules for the forms, the JSON API, imports, search, the duplicate checks and data migrations.

Every channel is read through Unicode NFKC first, so what an input method types in full width
(１３８００１３８０００, ＡＢＣ@ＱＱ.ＣＯＭ) is the same as its ASCII. Emails and WeChat IDs are
then stripped and lower-cased (both are case-insensitive).

Phones are read with Google's libphonenumber metadata (the `phonenumbers` package) as numbers of
mainland China, unless they start with + or 00 and another country code. What is stored:
- a mainland mobile: its 11 digits, 13800138000 (the form stored before, which the unique
  constraints and the duplicate finder's phone endings rely on). Any 1[3-9] and 9 digits is
  taken, as before, so a range opened after the library's metadata is not refused;
- another mainland number: its national digits, the area code with its 0 included
  (01088886666, 075512345678) or a 400/800 line as dialled (4008123123);
- a number of any other country or region (Hong Kong, Macau and Taiwan included): E.164,
  +14155552671, so that +1 415… is never taken for a Chinese number.
A number that cannot exist ("12345", letters, an extension, a wrong length for its country) is
refused with a PhoneError saying why, in the reader's language. Normalising a stored form gives
it back unchanged.
"""

import re
import unicodedata

import phonenumbers
from django.utils.translation import gettext_lazy as _

REGION = "CN"  # whose numbers are written without a country code
_NON_DIGITS = re.compile(r"\D+")
_MOBILE = re.compile(r"1[3-9]\d{9}", re.ASCII)
# The common case, checked before the library (~20 µs a parse, too slow for a 100,000-row
# import): a mainland mobile, bare or after +86 / 0086 / 86, once the separators are gone.
_PLAIN_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9]\d{9})", re.ASCII)
_SEPARATORS = re.compile(r"[\s().\-]+")
_PHONE_CHARACTERS = re.compile(r"[\d\s().+\-]*", re.ASCII)

PHONE_REASONS = {
    "characters": _("A phone number has digits, spaces, +, - and brackets only."),
    "too_short": _(
        "“%(value)s” is too short for a phone number: a mobile has 11 digits, a landline needs "
        "its area code."
    ),
    "too_long": _("“%(value)s” is too long for a phone number."),
    "invalid": _(
        "“%(value)s” is not a phone number in use. A number from outside mainland China starts "
        "with + and its country code."
    ),
}
_PARSE_REASONS = {
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too_short",
    phonenumbers.NumberParseException.TOO_LONG: "too_long",
}
_LENGTH_REASONS = {
    phonenumbers.ValidationResult.TOO_SHORT: "too_short",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too_short",  # no area code
    phonenumbers.ValidationResult.TOO_LONG: "too_long",
}


class PhoneError(ValueError):
    """A phone number refused; `code` is one of PHONE_REASONS, `message` its wording in the
    active language (worded when read, so an import can store the code)."""

    def __init__(self, code: str, value: str):
        super().__init__(code, value)
        self.code = code
        self.value = value

    @property
    def message(self) -> str:
        return str(PHONE_REASONS[self.code]) % {"value": self.value}

    def __str__(self) -> str:
        return self.message


def _nfkc(value: str) -> str:
    return value if value.isascii() else unicodedata.normalize("NFKC", value)


def normalize_email(value: str) -> str:
    return _nfkc(value or "").strip().lower()


def normalize_phone(value: str) -> str:
    """The stored form of a phone number (see above), "" for none; raises PhoneError."""
    text = _nfkc(value or "").strip()
    if not text:
        return ""
    if match := _PLAIN_MOBILE.fullmatch(_SEPARATORS.sub("", text)):
        return match[1]
    shown = (value or "").strip()  # a refusal quotes what was typed
    if not _PHONE_CHARACTERS.fullmatch(text):
        raise PhoneError("characters", shown)
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(_PARSE_REASONS.get(exc.error_type, "invalid"), shown) from None
    if number.extension:
        raise PhoneError("characters", shown)
    if number.country_code == phonenumbers.country_code_for_region(REGION):
        national = str(number.national_number)
        if _MOBILE.fullmatch(national):
            return national
        if phonenumbers.is_valid_number(number):
            national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            return _NON_DIGITS.sub("", national)
    elif phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    reason = phonenumbers.is_possible_number_with_reason(number)
    raise PhoneError(_LENGTH_REASONS.get(reason, "invalid"), shown)


def phone_refusal(value: str) -> str:
    """Why normalize_phone refuses `value` (a PHONE_REASONS code), "" if it does not."""
    try:
        normalize_phone(value)
    except PhoneError as error:
        return error.code
    return ""


def normalize_phone_or_blank(value: str) -> str:
    """normalize_phone for imports: "" for a number it refuses, which the row checker reports
    with phone_refusal's reason."""
    try:
        return normalize_phone(value)
    except PhoneError:
        return ""


def phone_search_prefix(value: str) -> str:
    """The start of a stored number to look for when someone types the start of one ("139 1111",
    "+86 139", "１３９", "+86 10 8888", "+1 415"); "" when the text is not a phone number."""
    text = _nfkc(value or "").strip()
    if not _PHONE_CHARACTERS.fullmatch(text):
        return ""
    try:
        return normalize_phone(text)
    except PhoneError:
        pass  # the start of a number, not a whole one
    digits = _NON_DIGITS.sub("", text)
    if text.startswith("+"):
        international = digits
    elif digits.startswith("00"):
        international = digits[2:]
    else:
        return digits
    if not international.startswith("86"):
        return "+" + international
    national = international[2:]
    if national.startswith("0") or (national.startswith("1") and not national.startswith("10")):
        return national  # "+86 (0)10 …", or a mobile
    return "0" + national if national else ""  # a landline: its area code takes back its 0


def normalize_wechat_id(value: str) -> str:
    # WeChat IDs are case-insensitive; stored lower-case so duplicates are found.
    return _nfkc(value or "").strip().lower()


def normalize_text(value: str) -> str:
    return " ".join((value or "").split())
