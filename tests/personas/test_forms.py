import pytest

from personas.forms import AvatarForm, ChannelsForm, SegmentForm
from tests.personas.images import image_bytes, noise_png, upload


def test_channels_are_typed_comma_separated_and_kept_in_order_without_duplicates():
    form = ChannelsForm(
        {
            "version": "1",
            "channels": " Instagram,email , ,  price   sites, Email",
            "online_behaviour": "",
        }
    )

    assert form.is_valid(), form.errors
    assert form.changes()["channels"] == ["Instagram", "email", "price sites"]


def test_channels_show_as_one_comma_separated_line():
    form = ChannelsForm(initial={"channels": ["Instagram", "email"], "version": 1})

    assert 'value="Instagram, email"' in str(form["channels"])


def test_too_long_a_channel_name_is_refused():
    form = ChannelsForm({"version": "1", "channels": "x" * 61})

    assert not form.is_valid()
    assert "at most 60 characters" in form.errors["channels"][0]


def test_segment_rule_is_parsed_from_json():
    rule = '{"all": [{"field": "device", "op": "equals", "value": "mobile"}]}'
    form = SegmentForm({"version": "3", "segment": rule})

    assert form.is_valid(), form.errors
    assert form.changes() == {
        "segment": {"all": [{"field": "device", "op": "equals", "value": "mobile"}]}
    }


def test_empty_segment_means_no_rule():
    form = SegmentForm({"version": "3", "segment": "  \n"})

    assert form.is_valid()
    assert form.changes() == {"segment": None}


def test_invalid_json_is_refused_with_where_it_breaks():
    form = SegmentForm({"version": "1", "segment": '{"all": [\n  {"field": "x",}\n]}'})

    assert not form.is_valid()
    assert form.errors["segment"] == [
        "This is not valid JSON: Expecting property name enclosed in double quotes "
        "(line 2, column 17)."
    ]


def test_a_bad_rule_is_refused_with_its_path():
    rule = '{"any": [{"field": "page", "op": "starts_with", "value": "/"}, {"field": "page"}]}'
    form = SegmentForm({"version": "1", "segment": rule})

    assert not form.is_valid()
    assert form.errors["segment"] == ["rule.any[1].op: is required"]


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP", "GIF"])
def test_each_accepted_image_format_is_recognised_by_its_content(image_format):
    # Named .bin on purpose: the content decides, not the name.
    form = AvatarForm({"version": "1"}, {"avatar": upload("face.bin", image_bytes(image_format))})

    assert form.is_valid(), form.errors


def test_a_text_file_named_png_is_refused():
    fake = upload("face.png", b"<html><script>alert(1)</script></html>")
    form = AvatarForm({"version": "1"}, {"avatar": fake})

    assert not form.is_valid()
    assert form.errors["avatar"] == [
        "This file is not an image we can use. Upload a PNG, JPEG, WebP, GIF picture."
    ]


def test_a_truncated_png_is_refused():
    broken = image_bytes("PNG", size=(64, 64))[:-40]
    form = AvatarForm({"version": "1"}, {"avatar": upload("face.png", broken)})

    assert not form.is_valid()
    assert "not an image we can use" in form.errors["avatar"][0]


def test_an_image_in_another_format_is_refused():
    form = AvatarForm({"version": "1"}, {"avatar": upload("face.bmp", image_bytes("BMP"))})

    assert not form.is_valid()
    assert "Upload a PNG, JPEG, WebP, GIF picture" in form.errors["avatar"][0]


def test_a_file_over_two_megabytes_is_refused():
    big = noise_png(900)
    assert len(big) > 2 * 1024 * 1024
    form = AvatarForm({"version": "1"}, {"avatar": upload("big.png", big)})

    assert not form.is_valid()
    assert form.errors["avatar"] == [
        f"The file is {len(big) / 1024 / 1024:.1f} MB; a picture may be at most 2 MB."
    ]


def test_an_image_too_large_in_pixels_is_refused_before_decoding():
    huge = image_bytes("PNG", size=(5000, 10))
    form = AvatarForm({"version": "1"}, {"avatar": upload("wide.png", huge)})

    assert not form.is_valid()
    assert "5000 by 10 pixels" in form.errors["avatar"][0]


def test_upload_without_a_file_asks_for_one():
    form = AvatarForm({"version": "1"}, {})

    assert not form.is_valid()
    assert form.errors["avatar"] == ["Choose a picture to upload."]


def test_remove_needs_no_file():
    form = AvatarForm({"version": "1", "remove": "1"}, {})

    assert form.is_valid()
    assert form.cleaned_data["avatar"] is None
