"""Forms for the maps list, the map JSON upload and the members page."""

from django import forms
from django.conf import settings

from journeymap.editor_forms import VersionedForm
from journeymap.models import JourneyMap
from journeymap.scoping import Role
from journeymap.services import MAP_TEMPLATES


class MapCreateForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, help_text="Defaults to the template's.")
    template = forms.ChoiceField(
        choices=[
            (key, f"{name}: {' → '.join(stage for stage, _ in stages) or 'no stages'}")
            for key, (name, stages) in MAP_TEMPLATES.items()
        ],
        initial="ecommerce",
    )


class MapImportForm(forms.Form):
    file = forms.FileField(label="Map JSON file", help_text="A journeymap/v1 file from Export.")

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        limit = settings.MAX_MAP_JSON_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size / 1e6:.1f} MB; a map file may be at most "
                f"{limit / 1e6:.0f} MB."
            )
        return upload.read()


class MemberAddForm(forms.Form):
    identifier = forms.CharField(label="Username or email", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class WorkspaceDeleteForm(forms.Form):
    # Not stripped: the name must be typed exactly as it is.
    confirm_name = forms.CharField(
        label="The workspace's name",
        max_length=120,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class MapDetailsForm(VersionedForm):
    class Meta:
        model = JourneyMap
        fields = ["name", "description", "status", "conversion_window_days"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"conversion_window_days": "Conversion window (days)"}
