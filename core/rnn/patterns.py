"""The four input/output patterns of recurrent networks, as data: diagram, task, Keras flags, shapes.

Every shape here comes from :func:`core.rnn.describe_rnn` (or plain Dense/RepeatVector
arithmetic) for one concrete example, and ``tests/test_rnn_keras.py`` builds each recipe in
Keras and checks the same shapes come out.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.rnn.shapes import Shape, describe_rnn

PATTERN_BATCH = 32


@dataclass(frozen=True)
class PatternStage:
    """One line of a recipe: the Keras call and the tensor(s) it produces."""

    code: str
    output_shapes: tuple[Shape, ...]


@dataclass(frozen=True)
class SequencePattern:
    """One input/output pattern with a worked Keras example."""

    key: str
    title: str
    example_task: str
    keras_flags: str
    explanation: str
    stages: tuple[PatternStage, ...]
    diagram_dot: str


def _dot(body: list[str]) -> str:
    header = [
        "digraph pattern {",
        "  rankdir=BT;",
        '  node [fontname="Helvetica", fontsize=10, width=0.4, height=0.3];',
        "  edge [arrowsize=0.6];",
    ]
    return "\n".join(header + [f"  {line}" for line in body] + ["}"])


def _input(name: str, label: str) -> str:
    return f'{name} [label="{label}", shape=plaintext];'


def _cell(name: str, label: str = "RNN", color: str = "#fff3e0") -> str:
    return f'{name} [label="{label}", shape=box, style="rounded,filled", fillcolor="{color}"];'


def _output(name: str, label: str) -> str:
    return f'{name} [label="{label}", shape=ellipse, style=filled, fillcolor="#e8f5e9"];'


def _chain(names: list[str]) -> list[str]:
    body = [f'{{ rank=same; {"; ".join(names)}; }}']
    body += [f'{left} -> {right} [label="a", fontsize=9];' for left, right in zip(names, names[1:])]
    return body


def _one_to_one_dot() -> str:
    return _dot([_input("x", "x"), _cell("f", "Dense", "#e3f2fd"), _output("y", "ŷ"), "x -> f;", "f -> y;"])


def _one_to_many_dot(steps: int = 4) -> str:
    cells = [f"a{t}" for t in range(1, steps + 1)]
    body = [_input("x", "x")]
    body += [_cell(cell) for cell in cells] + [_output(f"y{t}", f"ŷ⟨{t}⟩") for t in range(1, steps + 1)]
    body += _chain(cells)
    body += ["x -> a1;"] + [f'x -> {cell} [style=dashed, label="same x", fontsize=8];' for cell in cells[1:]]
    body += [f"a{t} -> y{t};" for t in range(1, steps + 1)]
    return _dot(body)


def _many_to_one_dot(steps: int = 4) -> str:
    cells = [f"a{t}" for t in range(1, steps + 1)]
    body = [_input(f"x{t}", f"x⟨{t}⟩") for t in range(1, steps + 1)] + [_cell(cell) for cell in cells]
    body += _chain(cells) + [f"x{t} -> a{t};" for t in range(1, steps + 1)]
    body += [_output("y", "ŷ"), f"a{steps} -> y;"]
    return _dot(body)


def _many_to_many_dot(steps: int = 4) -> str:
    cells = [f"a{t}" for t in range(1, steps + 1)]
    body = [_input(f"x{t}", f"x⟨{t}⟩") for t in range(1, steps + 1)] + [_cell(cell) for cell in cells]
    body += [_output(f"y{t}", f"ŷ⟨{t}⟩") for t in range(1, steps + 1)]
    body += _chain(cells) + [f"x{t} -> a{t};" for t in range(1, steps + 1)] + [f"a{t} -> y{t};" for t in range(1, steps + 1)]
    return _dot(body)


def _encoder_decoder_dot(source_steps: int = 3, target_steps: int = 3) -> str:
    encoder = [f"e{t}" for t in range(1, source_steps + 1)]
    decoder = [f"d{t}" for t in range(1, target_steps + 1)]
    body = [_input(f"x{t}", f"x⟨{t}⟩") for t in range(1, source_steps + 1)]
    body += [_input(f"p{t}", "⟨start⟩" if t == 1 else f"ŷ⟨{t - 1}⟩") for t in range(1, target_steps + 1)]
    body += [_cell(cell, "enc") for cell in encoder] + [_cell(cell, "dec", "#f3e5f5") for cell in decoder]
    body += [_output(f"y{t}", f"ŷ⟨{t}⟩") for t in range(1, target_steps + 1)]
    body += _chain(encoder + decoder)
    body += [f"x{t} -> e{t};" for t in range(1, source_steps + 1)]
    body += [f"p{t} -> d{t};" for t in range(1, target_steps + 1)] + [f"d{t} -> y{t};" for t in range(1, target_steps + 1)]
    return _dot(body)


def sequence_patterns() -> tuple[SequencePattern, ...]:
    """The five cases (many-to-many comes in two forms), each with a concrete Keras example."""
    batch = PATTERN_BATCH
    many_to_one = describe_rnn("lstm", batch=batch, timesteps=50, features=100, units=64)
    same_length = describe_rnn("lstm", batch=batch, timesteps=50, features=100, units=64, return_sequences=True)
    one_to_many = describe_rnn("lstm", batch=batch, timesteps=20, features=256, units=128, return_sequences=True)
    encoder = describe_rnn("lstm", batch=batch, timesteps=40, features=100, units=64, return_state=True)
    decoder = describe_rnn("lstm", batch=batch, timesteps=30, features=120, units=64, return_sequences=True)
    return (
        SequencePattern(
            key="one_to_one",
            title="One to one",
            example_task="Classify one image or one feature vector (no sequence at all).",
            keras_flags="No recurrent layer: Tx = Ty = 1, so a plain Dense network does the job.",
            explanation="Included for completeness: an RNN with one input and one output is just a feed-forward layer.",
            stages=(
                PatternStage("keras.Input(shape=(784,))", ((batch, 784),)),
                PatternStage("layers.Dense(10, activation='softmax')", ((batch, 10),)),
            ),
            diagram_dot=_one_to_one_dot(),
        ),
        SequencePattern(
            key="one_to_many",
            title="One to many",
            example_task="Generate music or a caption from one vector (a genre, an image's features).",
            keras_flags="RepeatVector(Ty) copies the one input to every step; the RNN uses return_sequences=True.",
            explanation="One vector in, a sequence out: every step sees the same input and emits one output.",
            stages=(
                PatternStage("keras.Input(shape=(256,))", ((batch, 256),)),
                PatternStage("layers.RepeatVector(20)", (one_to_many.input_shape,)),
                PatternStage("layers.LSTM(128, return_sequences=True)", tuple(one_to_many.output_shapes)),
                PatternStage("layers.Dense(88, activation='softmax')", ((batch, 20, 88),)),
            ),
            diagram_dot=_one_to_many_dot(),
        ),
        SequencePattern(
            key="many_to_one",
            title="Many to one",
            example_task="Sentiment of a review: read 50 word vectors, output one score.",
            keras_flags="return_sequences=False (the default): only the last hidden state comes out.",
            explanation="The whole sequence is summarised by the final hidden state, which a Dense layer reads.",
            stages=(
                PatternStage("keras.Input(shape=(50, 100))", (many_to_one.input_shape,)),
                PatternStage("layers.LSTM(64)", tuple(many_to_one.output_shapes)),
                PatternStage("layers.Dense(1, activation='sigmoid')", ((batch, 1),)),
            ),
            diagram_dot=_many_to_one_dot(),
        ),
        SequencePattern(
            key="many_to_many_same",
            title="Many to many (same length)",
            example_task="Tag every word of a sentence (part of speech, named entities).",
            keras_flags="return_sequences=True: one hidden state per step, and Dense is applied at every step.",
            explanation="Tx = Ty: each input step produces its own output at the same position.",
            stages=(
                PatternStage("keras.Input(shape=(50, 100))", (same_length.input_shape,)),
                PatternStage("layers.LSTM(64, return_sequences=True)", tuple(same_length.output_shapes)),
                PatternStage("layers.Dense(9, activation='softmax')", ((batch, 50, 9),)),
            ),
            diagram_dot=_many_to_many_dot(),
        ),
        SequencePattern(
            key="encoder_decoder",
            title="Many to many (encoder–decoder)",
            example_task="Translate a 40-word sentence into a 30-word one (Tx ≠ Ty).",
            keras_flags=(
                "Encoder: return_state=True (keep h and c, drop the rest). Decoder: return_sequences=True, "
                "initial_state=[h, c]."
            ),
            explanation="The encoder squeezes the source into its final states; the decoder unrolls them into the target.",
            stages=(
                PatternStage("encoder_inputs = keras.Input(shape=(40, 100))", (encoder.input_shape,)),
                PatternStage("_, h, c = layers.LSTM(64, return_state=True)(encoder_inputs)", tuple(encoder.output_shapes)),
                PatternStage("decoder_inputs = keras.Input(shape=(30, 120))", (decoder.input_shape,)),
                PatternStage(
                    "layers.LSTM(64, return_sequences=True)(decoder_inputs, initial_state=[h, c])",
                    tuple(decoder.output_shapes),
                ),
                PatternStage("layers.Dense(5000, activation='softmax')", ((batch, 30, 5000),)),
            ),
            diagram_dot=_encoder_decoder_dot(),
        ),
    )
