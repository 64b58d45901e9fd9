"""The calculator's arithmetic: every worked figure of issue 2, the formulas, and the error messages."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

from core.calculator import KINDS, LAYER_TYPES, MEBIBYTE, analyze, describe_layers
from core.calculator.check import check_answer
from core.calculator.presets import PRESETS, RENAMED_KEYS, preset
from core.homework import HOMEWORK, NETWORKS, VGG16_BASE

GERON = preset("geron")


def cnn_128(padding: str) -> list[dict]:
    """DATA.ML.200 Exercise 5's CNN on 128×128×3 with every convolution's padding set."""
    return list(preset("cnn_128").with_padding(padding))


# --- the exact figures of the issue ---------------------------------------------------------


def test_geron_parameters_and_shapes() -> None:
    report = analyze((200, 300, 3), GERON.layers)
    assert report.total_params == 903_400
    assert [layer.output_shape for layer in report.layers] == [(100, 150, 100), (50, 75, 200), (25, 38, 400)]
    assert [layer.params for layer in report.layers] == [2_800, 180_200, 720_400]


def test_geron_inference_peak_for_one_instance() -> None:
    report = analyze((200, 300, 3), GERON.layers)
    # 903,400 weights plus layer 2's input (1.5 M values) and output (0.75 M values), 4 bytes each.
    assert report.inference_peak_bytes == 12_613_600
    assert report.weight_bytes == 3_613_600
    assert report.inference_keep_all_bytes == 3_613_600 + (180_000 + 2_630_000) * 4


def test_geron_training_memory_for_a_batch_of_50() -> None:
    report = analyze((200, 300, 3), GERON.layers, batch_size=50)
    assert report.training_breakdown["activations"] == 526_000_000
    assert report.training_breakdown["input"] == 36_000_000
    assert report.training_breakdown["weights"] == 3_613_600
    assert report.training_breakdown["gradients"] == 3_613_600
    assert report.training_breakdown["optimizer"] == 2 * 3_613_600
    assert report.training_bytes == sum(report.training_breakdown.values()) == 576_454_400


def test_data_ml_200_mlp() -> None:
    assert analyze((128, 128, 3), preset("mlp_128").layers).total_params == 4_926_410


def test_data_ml_200_cnn_same_padding() -> None:
    assert analyze((128, 128, 3), cnn_128("same")).total_params == 355_754


def test_data_ml_200_first_conv_multiply_adds_valid_and_same() -> None:
    assert analyze((128, 128, 3), cnn_128("valid")).layers[0].macs == 36_902_400
    assert analyze((128, 128, 3), cnn_128("same")).layers[0].macs == 39_321_600


def test_vgg16_conv_base_and_full_network() -> None:
    assert analyze((224, 224, 3), VGG16_BASE).total_params == 14_714_688
    report = analyze((224, 224, 3), preset("vgg16").layers)
    assert report.total_params == 138_357_544
    assert report.output_shape == (1000,)


def test_cs577_cifar_baseline_has_256_non_trainable_params() -> None:
    report = analyze((32, 32, 3), preset("cifar_baseline").layers)
    assert report.total_params == 1_442_954
    assert report.non_trainable_params == 256
    assert report.trainable_params == 1_442_954 - 256


def test_other_presets_match_hand_counts() -> None:
    # LeNet: 832 + 51,264 + (7·7·64 + 1)·1024 + 10,250; cats-vs-dogs: 320 + 18,496 + 147,457·32 + 33.
    assert analyze((28, 28, 1), preset("lenet").layers).total_params == 3_274_634
    assert analyze((200, 200, 1), preset("cats_dogs_cnn").layers).total_params == 4_737_473
    # The spectrogram CNN: 832 + 25,632 + (9·124·32 + 1)·15 on 40 bands × 501 frames.
    assert analyze((40, 501, 1), preset("audio_cnn").layers).total_params == 562_159


@pytest.mark.parametrize("choice", PRESETS, ids=lambda p: p.key)
def test_every_preset_analyses_and_its_source_names_the_homework(choice) -> None:
    report = analyze(choice.input_shape, choice.layers, batch_size=choice.batch_size)
    assert report.total_params > 0 and choice.source


# --- the rules behind the figures -----------------------------------------------------------


def test_shape_rules_follow_keras() -> None:
    def out(padding, n=7, k=3, s=2):
        return analyze((n, n, 1), [{"type": "conv2d", "filters": 1, "kernel": k, "stride": s, "padding": padding}]).output_shape[0]

    assert out("same") == 4  # ceil(7/2)
    assert out("valid") == 3  # floor((7-3)/2)+1
    assert out(1) == 4  # floor((7+2-3)/2)+1
    assert out("same", n=1, k=5, s=3) == 1


def test_rectangular_kernel_stride_and_pool() -> None:
    layers = [
        {"type": "conv2d", "filters": 8, "kernel": (3, 5), "stride": (1, 2), "padding": "valid"},
        {"type": "maxpool2d", "pool": (2, 3)},
        {"type": "avgpool2d", "pool": 2, "stride": 1, "padding": "same"},
    ]
    report = analyze((20, 21, 4), layers)
    assert report.layers[0].output_shape == (18, 9, 8)
    assert report.layers[0].params == (3 * 5 * 4 + 1) * 8
    assert report.layers[1].output_shape == (9, 3, 8)
    assert report.layers[2].output_shape == (9, 3, 8)


def test_dense_on_an_image_acts_on_the_last_axis() -> None:
    layer = analyze((4, 5, 6), [{"type": "dense", "units": 7}]).layers[0]
    assert layer.output_shape == (4, 5, 7)
    assert layer.params == (6 + 1) * 7
    assert layer.macs == 4 * 5 * 6 * 7


def test_vector_input_global_pool_batchnorm_dropout_and_no_bias() -> None:
    report = analyze((8, 8, 16), [{"type": "globalavgpool2d"}, {"type": "batchnorm"}, {"type": "dropout", "rate": 0.2}, {"type": "dense", "units": 3, "use_bias": False}])
    assert [layer.output_shape for layer in report.layers] == [(16,), (16,), (16,), (3,)]
    assert report.layers[1].params == 64 and report.layers[1].trainable_params == 32
    assert report.layers[3].params == 48 and report.layers[3].bias_params == 0
    vector = analyze((10,), [{"type": "dense", "units": 4}])
    assert vector.total_params == 44 and vector.input_values == 10


def test_training_breakdown_uses_optimizer_slots_and_dtype() -> None:
    for optimizer, slots in (("adam", 2), ("rmsprop", 1), ("sgd_momentum", 1), ("sgd", 0)):
        report = analyze((10,), [{"type": "dense", "units": 4}], optimizer=optimizer, dtype_bytes=2, batch_size=3)
        assert report.training_breakdown == {"weights": 88, "gradients": 88, "optimizer": slots * 88, "activations": 24, "input": 60}


def test_batchnorm_gradients_and_optimizer_state_cover_trainable_params_only() -> None:
    report = analyze((4, 4, 8), [{"type": "batchnorm"}], optimizer="sgd_momentum")
    assert report.training_breakdown["weights"] == 32 * 4
    assert report.training_breakdown["gradients"] == report.training_breakdown["optimizer"] == 16 * 4


def test_formulas_explain_the_numbers() -> None:
    report = analyze((200, 300, 3), GERON.layers)
    assert report.layers[1].params_formula == "(3×3×100 + 1)×200 = 180,200"
    assert report.layers[0].shape_formula == "ceil(200/2) = 100, ceil(300/2) = 150 → (100, 150, 100)"
    valid = analyze((128, 128, 3), cnn_128("valid")).layers[0]
    assert valid.shape_formula.startswith("floor((128−5)/1)+1 = 124")
    padded = analyze((7, 7, 1), [{"type": "conv2d", "filters": 2, "kernel": 3, "padding": 1, "use_bias": False}]).layers[0]
    assert padded.shape_formula.startswith("floor((7+2×1−3)/1)+1 = 7")
    assert padded.params_formula == "(3×3×1)×2 = 18"


def test_memory_units_are_decimal_megabytes_and_binary_mebibytes() -> None:
    report = analyze((200, 300, 3), GERON.layers)
    assert report.inference_peak_bytes / 10**6 == pytest.approx(12.6136)
    assert report.inference_peak_bytes / MEBIBYTE == pytest.approx(12.0293, abs=1e-4)


def test_calculator_modules_do_not_import_tensorflow() -> None:
    script = "import sys, core.calculator, core.calculator.check, core.calculator.presets, core.calculator.table, core.calculator.keras_check; print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.stdout.strip() == "[]", completed.stderr[-2000:]


# --- depthwise, separable and global max pooling ---------------------------------------------

# MobileNet's first depthwise-separable block (Howard et al. 2017, table 1): a 3×3 depthwise conv
# on 112×112×32, then a 1×1 conv to 64 channels. The paper's cost is Dk·Dk·M·Df·Df + M·N·Df·Df.
MOBILENET_INPUT = (112, 112, 32)


def test_depthwise_conv2d_worked_example() -> None:
    layer = analyze(MOBILENET_INPUT, [{"type": "depthwise_conv2d", "kernel": 3, "padding": "same"}]).layers[0]
    assert layer.output_shape == (112, 112, 32)
    assert layer.params == 3 * 3 * 32 + 32 == 320
    assert layer.bias_params == 32
    assert layer.macs == 112 * 112 * 32 * 3 * 3 == 3_612_672
    assert layer.params_formula == "(3×3 + 1)×32×1 = 320"


def test_depthwise_multiplier_stride_and_no_bias() -> None:
    layer = analyze((9, 10, 3), [{"type": "depthwise_conv2d", "kernel": (3, 2), "stride": (1, 2), "depth_multiplier": 2, "use_bias": False}]).layers[0]
    assert layer.output_shape == (7, 5, 6)
    assert layer.params == 3 * 2 * 3 * 2 == 36 and layer.bias_params == 0
    assert layer.macs == 7 * 5 * 3 * 2 * 3 * 2
    assert layer.shape_formula == "floor((9−3)/1)+1 = 7, floor((10−2)/2)+1 = 5 → (7, 5, 6)"


def test_separable_conv2d_worked_example() -> None:
    layer = analyze(MOBILENET_INPUT, [{"type": "separable_conv2d", "filters": 64, "kernel": 3, "padding": "same"}]).layers[0]
    assert layer.output_shape == (112, 112, 64)
    # Depthwise 3×3×32 without a bias, then pointwise (32 + 1)×64: Keras puts the bias on the pointwise step.
    assert layer.params == 3 * 3 * 32 + (32 + 1) * 64 == 2_400
    assert layer.bias_params == 64
    assert layer.macs == 3_612_672 + 112 * 112 * 32 * 64 == 29_302_784
    assert layer.params_formula == "depthwise 3×3×32×1 + pointwise (32 + 1)×64 = 2,400"


def test_separable_is_a_depthwise_then_a_pointwise_conv() -> None:
    """Its shape, parameters and multiply-adds equal the two layers it is made of (minus the depthwise bias)."""
    for input_shape, settings in (
        ((8, 8, 3), {"kernel": 3, "stride": 2, "padding": "same", "depth_multiplier": 2}),
        ((11, 7, 5), {"kernel": (3, 2), "stride": (2, 1), "padding": 1, "depth_multiplier": 1}),
    ):
        separable = analyze(input_shape, [{"type": "separable_conv2d", "filters": 4, **settings}]).layers[0]
        depthwise, pointwise = analyze(
            input_shape,
            [{"type": "depthwise_conv2d", "use_bias": False, **settings}, {"type": "conv2d", "filters": 4, "kernel": 1}],
        ).layers
        assert separable.output_shape == pointwise.output_shape
        assert separable.params == depthwise.params + pointwise.params
        assert separable.macs == depthwise.macs + pointwise.macs


def test_depthwise_and_separable_take_numeric_padding_like_conv2d() -> None:
    for kind in ({"type": "depthwise_conv2d"}, {"type": "separable_conv2d", "filters": 2}):
        layer = analyze((7, 7, 2), [{**kind, "kernel": 3, "padding": 1}]).layers[0]
        assert layer.output_shape[:2] == (7, 7)
        assert layer.shape_formula.startswith("floor((7+2×1−3)/1)+1 = 7")


def test_global_max_pooling() -> None:
    layer = analyze((5, 7, 4), [{"type": "globalmaxpool2d"}]).layers[0]
    assert (layer.output_shape, layer.params, layer.macs) == ((4,), 0, 0)
    assert layer.shape_formula == "maximum over 5×7 → (4,)"


@pytest.mark.parametrize(
    ("layers", "fragments"),
    [
        ([{"type": "depthwise_conv2d"}], ["layer 1 (depthwise_conv2d)", "missing 'kernel'", "{'type': 'depthwise_conv2d', 'kernel': 3}"]),
        ([{"type": "separable_conv2d", "kernel": 3}], ["layer 1 (separable_conv2d)", "missing 'filters'"]),
        ([{"type": "depthwise_conv2d", "kernel": 3, "depth_multiplier": 0}], ["layer 1 (depthwise_conv2d)", "depth_multiplier must be a positive"]),
        ([{"type": "separable_conv2d", "filters": 2, "kernel": 9}], ["kernel 9×9 is larger than its 8×8 input"]),
        ([{"type": "flatten"}, {"type": "globalmaxpool2d"}], ["layer 2 (globalmaxpool2d)", "(H, W, C)"]),
    ],
)
def test_new_kinds_refuse_impossible_settings_clearly(layers, fragments) -> None:
    with pytest.raises(ValueError) as raised:
        analyze((8, 8, 1), layers)
    for fragment in fragments:
        assert fragment in str(raised.value)


# --- the layer-kind registry ---------------------------------------------------------------------


def test_describe_layers_in_a_few_words() -> None:
    assert describe_layers(GERON.layers) == " → ".join(["conv 3×3×100, stride 2, same padding", "conv 3×3×200, stride 2, same padding", "conv 3×3×400, stride 2, same padding"])
    assert describe_layers(preset("cats_dogs_cnn").layers) == "conv 3×3×32 → max-pool 2 → conv 3×3×64 → max-pool 2 → flatten → dense 32 → dense 1"
    assert describe_layers(
        [
            {"type": "depthwise_conv2d", "kernel": 3, "depth_multiplier": 2},
            {"type": "separable_conv2d", "filters": 8, "kernel": (3, 5), "padding": 1},
            {"type": "maxpool2d", "pool": (2, 3), "stride": 1},
            {"type": "globalmaxpool2d"},
            {"type": "batchnorm"},
            {"type": "dropout", "rate": 0.5},
            {"type": "dense", "units": 4},
            {"type": "dense", "units": 4},
        ]
    ) == (
        "depthwise conv 3×3, depth multiplier 2 → separable conv 3×5×8, 1 padding → max-pool 2×3, stride 1 → "
        "global max-pool → batch norm → dropout 0.5 → 2× dense 4"
    )
    assert describe_layers([]) == ""


def test_every_kind_record_is_complete_and_its_example_analyses() -> None:
    assert LAYER_TYPES == tuple(KINDS)
    for name, kind in KINDS.items():
        assert kind.type == name == kind.example["type"]
        image = analyze((8, 8, 3), [kind.example])
        assert image.layers[0].type == name and describe_layers([kind.example])
        assert set(kind.columns) >= set(kind.required), name  # every required key can be typed in the table


def test_kind_names_are_written_only_in_the_kinds_file() -> None:
    """Adding a kind is one record in core/calculator/kinds.py: no other calculator file lists kinds."""
    others = [*sorted((ROOT / "core" / "calculator").glob("*.py")), ROOT / "ui" / "calculator.py", ROOT / "app_pages" / "cnn_calculator.py"]
    for path in others:
        if path.name == "kinds.py":
            continue
        text = path.read_text(encoding="utf-8")
        for name in KINDS:
            assert f'"{name}"' not in text and f"'{name}'" not in text, f"{path.relative_to(ROOT)} names the kind {name!r}"


def test_a_new_record_is_all_it_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kind added to the registry is analysed, tabled, described, checked and built like the others."""
    from core.calculator import keras_layers_for
    from core.calculator.kinds import WINDOW
    from core.calculator.layer_kind import Figures, LayerKind
    from core.calculator.table import layers_from_rows, rows_from_layers

    def figures(layer, shape, label):
        height, width, channels = shape
        return Figures(output_shape=(height * layer["size"], width * layer["size"], channels), shape_formula="repeated")

    upsampling = LayerKind(
        "upsampling2d",
        example={"type": "upsampling2d", "size": 2},
        figures=figures,
        keras=lambda layer, options: [("UpSampling2D", layer["size"])],
        describe=lambda layer: f"upsample {layer['size']}",
        columns={"size": WINDOW},
    )
    monkeypatch.setitem(KINDS, "upsampling2d", upsampling)
    layers = [{"type": "upsampling2d", "size": 3}, {"type": "conv2d", "filters": 2, "kernel": 3}]
    assert analyze((4, 4, 1), layers).output_shape == (10, 10, 2)
    assert layers_from_rows(rows_from_layers(layers))[0] == {"type": "upsampling2d", "size": 3}
    assert describe_layers(layers) == "upsample 3 → conv 3×3×2"
    assert keras_layers_for(layers[0]) == [("UpSampling2D", 3)]
    assert check_answer(analyze((4, 4, 1), layers), "params", 20).correct


# --- presets are the homework's networks ----------------------------------------------------------


@pytest.mark.parametrize("choice", PRESETS, ids=lambda p: p.key)
def test_presets_are_homework_networks_named_by_their_homework(choice) -> None:
    network = NETWORKS[choice.key]
    assert choice.layers is network.layers and choice.input_shape == network.input_shape
    assert choice.batch_size == network.batch_size
    name = HOMEWORK[network.homework].name
    assert choice.title.endswith(name) and choice.source.startswith(f"{name}: {HOMEWORK[network.homework].asks}")
    assert describe_layers(choice.layers) in choice.source
    assert "seed" not in (choice.title + choice.source).lower()


def test_old_preset_keys_in_links_open_the_renamed_presets() -> None:
    assert {old: preset(old).key for old in RENAMED_KEYS} == {
        "seed002_mlp": "mlp_128",
        "seed002_cnn": "cnn_128",
        "seed003_lenet": "lenet",
        "seed004_cats_dogs": "cats_dogs_cnn",
        "seed004_cifar": "cifar_baseline",
    }
    assert [p.key for p in PRESETS] == ["geron", "mlp_128", "cnn_128", "lenet", "cats_dogs_cnn", "cifar_baseline", "vgg16", "audio_cnn"]
    assert [p.key for p in PRESETS if p.padding_toggle] == ["cnn_128"]
    with pytest.raises(ValueError, match="unknown preset 'alexnet'; choose one of geron, mlp_128"):
        preset("alexnet")


def test_the_vgg16_preset_says_what_its_base_alone_has() -> None:
    assert "convolutional base alone has 14,714,688 parameters" in preset("vgg16").source


# --- errors name the layer and the fix ------------------------------------------------------


@pytest.mark.parametrize(
    ("input_shape", "layers", "fragments"),
    [
        ((3, 2, 1), [{"type": "dense", "units": 2}, {"type": "conv2d", "filters": 4, "kernel": 5}], ["layer 2 (conv2d)", "5×5 is larger than its 3×2 input", "padding='same'"]),
        ((8, 8, 1), [{"type": "conv2d", "filters": 0, "kernel": 3}], ["layer 1 (conv2d)", "filters must be a positive"]),
        ((8, 8, 1), [{"type": "conv2d", "filters": 2, "kernel": -1}], ["layer 1 (conv2d)", "kernel"]),
        ((8, 8, 1), [{"type": "conv3d", "filters": 2}], ["layer 1", "unknown type 'conv3d'", "conv2d"]),
        ((8, 8, 1), [{"type": "conv2d", "kernel": 3}], ["layer 1 (conv2d)", "missing 'filters'"]),
        ((8, 8, 1), [{"type": "maxpool2d", "pool": 2}] * 4, ["layer 4 (maxpool2d)", "pool 2×2 is larger than its 1×1 input"]),
        ((8, 8, 1), [{"type": "dropout", "rate": 1.5}], ["layer 1 (dropout)", "[0, 1)"]),
        ((8, 8, 1), [{"type": "flatten"}, {"type": "maxpool2d", "pool": 2}], ["layer 2 (maxpool2d)", "(H, W, C)"]),
        ((8, 8, 1), [{"type": "conv2d", "filters": 2, "kernel": 3, "padding": "full"}], ["layer 1 (conv2d)", "padding must be"]),
        ((8, 8, 1), [{"type": "conv2d", "filters": 2, "kernel": 3, "padding": -1}], ["layer 1 (conv2d)", "≥ 0"]),
        ((8, 8, 1), [{"type": "avgpool2d", "pool": 2, "padding": 1}], ["layer 1 (avgpool2d)", "'same' or 'valid'"]),
        ((8, 0, 1), [], ["input_shape", "positive"]),
        ((8, 8), [], ["input_shape", "(H, W, C)"]),
        ((8, 8, 1), ["conv2d"], ["layer 1", "dict"]),
    ],
)
def test_impossible_settings_raise_a_clear_value_error(input_shape, layers, fragments) -> None:
    with pytest.raises(ValueError) as raised:
        analyze(input_shape, layers)
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_the_issue_example_error_message() -> None:
    layers = [{"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "conv2d", "filters": 4, "kernel": 5}]
    with pytest.raises(ValueError, match=r"^layer 2 \(conv2d\): kernel 5×5 is larger than its 3×3 input with 'valid' padding; use padding='same' or a smaller kernel$"):
        analyze((5, 5, 1), layers)


@pytest.mark.parametrize(("keyword", "value"), [("batch_size", 0), ("dtype_bytes", -4), ("optimizer", "adagrad")])
def test_bad_run_settings_raise(keyword, value) -> None:
    with pytest.raises(ValueError, match=keyword if keyword != "optimizer" else "adam"):
        analyze((4,), [], **{keyword: value})


# --- check your answer ----------------------------------------------------------------------


@pytest.fixture
def geron_batch_50():
    return analyze((200, 300, 3), GERON.layers, batch_size=50)


def test_check_answer_right(geron_batch_50) -> None:
    assert check_answer(geron_batch_50, "params", 903_400).correct
    assert check_answer(geron_batch_50, "params", 180_200, layer=2).correct
    assert check_answer(geron_batch_50, "inference", 12.6).correct  # rounded to 3 significant figures
    assert check_answer(geron_batch_50, "inference", 12_613_600, unit="bytes").correct
    assert check_answer(geron_batch_50, "training", 576.45).correct
    assert check_answer(geron_batch_50, "training", 549.75, unit="MiB").correct


def test_a_geron_write_up_multiplied_layer_2_by_the_input_channels_twice_540_200(geron_batch_50) -> None:
    verdict = check_answer(geron_batch_50, "params", 540_200, layer=2)
    assert not verdict.correct and verdict.recognised_mistake
    assert "input channels twice" in verdict.message and "180,200" in verdict.message


def test_forgot_the_bias(geron_batch_50) -> None:
    assert "forgot the bias" in check_answer(geron_batch_50, "params", 903_400 - 700).message
    assert "forgot the bias" in check_answer(geron_batch_50, "params", 180_000, layer=2).message


def test_a_geron_write_up_counted_training_memory_for_one_image_not_the_batch_17_8_mb(geron_batch_50) -> None:
    # Weights + gradients + one image's activations: 3.61 + 3.61 + 10.52 = 17.75 MB, "17.8 MB".
    verdict = check_answer(geron_batch_50, "training", 17.8)
    assert verdict.recognised_mistake
    assert "for all 50 images" in verdict.mistakes[0]


def test_mb_versus_mib(geron_batch_50) -> None:
    verdict = check_answer(geron_batch_50, "inference", 12_613_600 / MEBIBYTE, unit="MB")
    assert verdict.mistakes == ("gave MiB (1 MiB = 1,048,576 bytes) where MB was asked (1,000,000 bytes)",)
    assert "gave MB" in check_answer(geron_batch_50, "inference", 12.6136, unit="MiB").message


def test_other_classic_mistakes(geron_batch_50) -> None:
    assert "forgot the weights" in check_answer(geron_batch_50, "inference", 9.0).message
    assert "counted values, not bytes" in check_answer(geron_batch_50, "training", 576.4544 / 4).message
    cifar = analyze((32, 32, 3), preset("cifar_baseline").layers)
    assert "only the trainable" in check_answer(cifar, "params", 1_442_954 - 256).message


def test_classic_slips_of_the_new_kinds() -> None:
    depthwise = analyze(MOBILENET_INPUT, [{"type": "depthwise_conv2d", "kernel": 3, "padding": "same"}])
    assert "ordinary convolution" in check_answer(depthwise, "params", 3 * 3 * 32 * 32 + 32).message
    assert "forgot the bias" in check_answer(depthwise, "params", 288).message
    separable = analyze(MOBILENET_INPUT, [{"type": "separable_conv2d", "filters": 64, "kernel": 3, "padding": "same"}])
    assert check_answer(separable, "params", 2_400).correct
    assert "one ordinary convolution" in check_answer(separable, "params", (3 * 3 * 32 + 1) * 64).message
    assert "gave the depthwise step a bias too" in check_answer(separable, "params", 2_400 + 32).message


def test_keep_all_inference_is_accepted_with_a_note(geron_batch_50) -> None:
    verdict = check_answer(geron_batch_50, "inference", geron_batch_50.inference_keep_all_bytes / 1e6)
    assert verdict.correct and "keep-everything" in verdict.message


def test_unrecognised_wrong_answer(geron_batch_50) -> None:
    verdict = check_answer(geron_batch_50, "params", 123)
    assert not verdict.correct and not verdict.mistakes and "none of the classic mistakes" in verdict.message


@pytest.mark.parametrize(
    ("quantity", "claimed", "keywords", "fragment"),
    [("size", 1, {}, "quantity"), ("params", -5, {}, "positive"), ("params", 5, {"layer": 9}, "between 1 and 3"), ("training", 5, {"unit": "GB"}, "unit")],
)
def test_check_answer_rejects_bad_input(geron_batch_50, quantity, claimed, keywords, fragment) -> None:
    with pytest.raises(ValueError, match=fragment):
        check_answer(geron_batch_50, quantity, claimed, **keywords)
