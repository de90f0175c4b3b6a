"""Forms of the persona pages: one small form per section of the detail page, edited in place."""

import json
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from analytics.rulebuilder import segment_rule_builder
from personas.avatars import ACCEPTED, MAX_AVATAR_BYTES, check_avatar
from personas.models import Persona
from touchpoints.rules import RuleError, describe_rule, validate_rule

MAX_CHANNELS = 20
MAX_CHANNEL_LENGTH = 60


class ChannelsField(forms.CharField):
    """A list of channel names, typed as one comma-separated line."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        channels: list[str] = []
        for part in text.split(","):
            channel = " ".join(part.split())
            if channel and channel.casefold() not in {seen.casefold() for seen in channels}:
                channels.append(channel)
        return channels

    def validate(self, value: list[str]) -> None:
        if len(value) > MAX_CHANNELS:
            raise ValidationError(f"List at most {MAX_CHANNELS} channels (there are {len(value)}).")
        for channel in value:
            if len(channel) > MAX_CHANNEL_LENGTH:
                raise ValidationError(
                    f"“{channel[:20]}…” is too long: a channel name may have at most "
                    f"{MAX_CHANNEL_LENGTH} characters."
                )


class RuleField(forms.CharField):
    """A segment rule (DESIGN §6) typed as JSON; empty means no rule."""

    def prepare_value(self, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value or ""
        return json.dumps(value, indent=2, ensure_ascii=False)

    def to_python(self, value: Any) -> dict | None:
        text = super().to_python(value)
        if not text.strip():
            return None
        try:
            rule = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValidationError(
                f"This is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno}).",
                code="invalid_json",
            ) from None
        try:
            validate_rule(rule)
        except RuleError as error:
            raise ValidationError(f"{error.path}: {error.message}", code="invalid_rule") from None
        return rule


class PersonaSectionForm(forms.Form):
    """Base of the section forms: every edit carries the version of the persona it was made on."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, section_key: str = "", **kwargs: Any) -> None:
        # Ids unique to the section, so that several sections can be open at once on one page.
        kwargs.setdefault("auto_id", f"id_{section_key}_%s" if section_key else "id_%s")
        super().__init__(*args, **kwargs)
        first = next(name for name, f in self.fields.items() if not f.widget.is_hidden)
        self.fields[first].widget.attrs["autofocus"] = True

    def add_service_error(self, error: ValidationError) -> None:
        """Show a service's refusal: on its field when the form has it, else above the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            if name == NON_FIELD_ERRORS:
                self.add_error(None, messages)
            elif name in self.fields:
                self.add_error(name, messages)
            else:
                label = name.replace("_", " ").capitalize()
                self.add_error(None, [f"{label}: {message}" for message in messages])

    def changes(self) -> dict[str, Any]:
        """The persona fields this form edits, with their cleaned values."""
        return {name: value for name, value in self.cleaned_data.items() if name != "version"}


def _text(label: str, rows: int = 4, **kwargs: Any) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, widget=forms.Textarea(attrs={"rows": rows}), **kwargs
    )


class ProfileForm(PersonaSectionForm):
    name = forms.CharField(label="Name", max_length=120)
    summary = _text("Summary", rows=3)
    age_range = forms.CharField(label="Age range", max_length=40, required=False)
    occupation = forms.CharField(label="Occupation", max_length=120, required=False)
    location = forms.CharField(label="Location", max_length=120, required=False)


class GoalsForm(PersonaSectionForm):
    goals = _text("Goals")


class NeedsForm(PersonaSectionForm):
    needs = _text("Needs")


class PainPointsForm(PersonaSectionForm):
    pain_points = _text("Pain points")


class MotivationsForm(PersonaSectionForm):
    motivations = _text("Motivations")


class ChannelsForm(PersonaSectionForm):
    channels = ChannelsField(
        label="Preferred channels",
        required=False,
        help_text="Separate them with commas, e.g. Instagram, email, price comparison sites.",
    )
    online_behaviour = _text("Online behaviour")


class QuoteForm(PersonaSectionForm):
    quote = _text("Quote", rows=2)


class SegmentForm(PersonaSectionForm):
    segment = RuleField(
        label="Segment rule (JSON)",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
        help_text='Which users are this persona, e.g. {"all": [{"field": "device", "op": '
        '"equals", "value": "mobile"}]}. Leave empty for no rule (every user).',
    )


class AvatarForm(PersonaSectionForm):
    avatar = forms.FileField(
        label="Picture",
        required=False,
        help_text=f"{ACCEPTED}; at most {MAX_AVATAR_BYTES // 1024 // 1024} MB.",
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
    )

    def clean_avatar(self) -> Any:
        """The picture to store: a checked image, or None when the Remove button was pressed."""
        if self.data.get("remove"):
            return None
        upload = self.cleaned_data.get("avatar")
        if not upload:
            raise ValidationError("Choose a picture to upload.")
        check_avatar(upload)
        return upload


@dataclass(frozen=True)
class Row:
    """One field of a section as the read view shows it."""

    label: str
    kind: str  # "text", "line", "list" or "rule"
    value: Any
    extra: str = ""


@dataclass(frozen=True)
class Section:
    """A region of the persona page that is read and edited on its own."""

    key: str
    title: str
    form_class: type[PersonaSectionForm]
    multipart: bool = False
    read_fields: tuple[str, ...] = ()

    def rows(self, persona: Persona) -> list[Row]:
        """The section's fields with the persona's values, for the read view."""
        rows = []
        for name in self.read_fields:
            form_field = self.form_class.base_fields[name]
            value = getattr(persona, name)
            if isinstance(form_field, RuleField):
                rows.append(
                    Row(
                        form_field.label,
                        "rule",
                        form_field.prepare_value(value),
                        describe_rule(value),
                    )
                )
            elif isinstance(form_field, ChannelsField):
                rows.append(Row(form_field.label, "list", value))
            elif isinstance(form_field.widget, forms.Textarea):
                rows.append(Row(form_field.label, "text", value))
            else:
                rows.append(Row(form_field.label, "line", value))
        return rows

    def initial(self, persona: Persona) -> dict[str, Any]:
        """The form's starting values: the persona as it is now, and its version."""
        names = [name for name in self.form_class.base_fields if name not in ("version", "avatar")]
        return {**{name: getattr(persona, name) for name in names}, "version": persona.version}


SECTIONS: dict[str, Section] = {
    section.key: section
    for section in (
        Section(
            "profile",
            "Profile",
            ProfileForm,
            read_fields=("summary", "age_range", "occupation", "location"),
        ),
        Section("avatar", "Picture", AvatarForm, multipart=True),
        Section("goals", "Goals", GoalsForm, read_fields=("goals",)),
        Section("needs", "Needs", NeedsForm, read_fields=("needs",)),
        Section("pain-points", "Pain points", PainPointsForm, read_fields=("pain_points",)),
        Section("motivations", "Motivations", MotivationsForm, read_fields=("motivations",)),
        Section(
            "channels",
            "Channels and online behaviour",
            ChannelsForm,
            read_fields=("channels", "online_behaviour"),
        ),
        Section("quote", "Quote", QuoteForm, read_fields=("quote",)),
        Section("segment", "Segment rule", SegmentForm, read_fields=("segment",)),
    )
}


@dataclass
class SectionState:
    """A section as one response shows it: read view, or its form (with a notice when stale)."""

    section: Section
    persona: Persona
    form: PersonaSectionForm | None = None
    stale: bool = False
    rows: list[Row] = field(init=False)

    def __post_init__(self) -> None:
        self.rows = self.section.rows(self.persona)
        if isinstance(self.form, SegmentForm):  # the rule builder, with live counts
            self.form.fields["segment"].widget = segment_rule_builder(self.persona)

    @property
    def key(self) -> str:
        return self.section.key

    @property
    def title(self) -> str:
        return self.section.title


class PersonaCreateForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120)
    summary = _text("Summary", rows=3, help_text="Who they are, in a sentence or two.")
