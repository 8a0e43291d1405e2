"""The ``textlstm`` command line: parse options, call the library, print. No ML code here.

    textlstm train [--train FILE] [--dev FILE] [--test FILE] [--output DIR] [options]
    textlstm evaluate DIR --test FILE
    textlstm predict DIR [TEXT...] [--input FILE] [--format jsonl|csv] [--top-k K]
    textlstm export MODEL.keras --output DIR
"""

import contextlib
import os
import sys

# TensorFlow's native logs (its notices about oneDNN and CUDA, at levels up to ERROR on a
# machine without a GPU) are not for the command's user: unless TF_CPP_MIN_LOG_LEVEL is set
# below 3, only fatal ones are shown. TensorFlow 2.21 logs while it loads, before it reads that
# variable, so file descriptor 2 is muted for the import: an error stays the one line the user reads.
LOG_LEVEL = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3").strip()
MUTE_TENSORFLOW_IMPORT = LOG_LEVEL.isdigit() and int(LOG_LEVEL) >= 3


@contextlib.contextmanager
def tensorflow_import_muted():
    """Point file descriptor 2 (native and Python stderr) at /dev/null inside the block."""
    if not MUTE_TENSORFLOW_IMPORT:
        yield
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


with tensorflow_import_muted():
    import tensorflow  # noqa: E402, F401  (the imports below find it loaded)

import csv  # noqa: E402
import dataclasses  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import typing  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402
import keras  # noqa: E402

import textlstm  # noqa: E402
from textlstm.config import Config, shown_default  # noqa: E402
from textlstm.data import (  # noqa: E402
    FORMATS,
    Corpus,
    ReadOptions,
    SkippedRowsWarning,
    corpus_from_lines,
    detect_format,
    iter_corpora,
    read_corpus,
    read_texts,
    skipped_summary,
)
from textlstm.datasets import registry, sample_path  # noqa: E402
from textlstm.errors import ConfigError, DataError, TextlstmError  # noqa: E402
from textlstm.evaluation import MISCLASSIFIED_FIELDS, format_against, format_report  # noqa: E402
from textlstm.describe import describe_model, format_description  # noqa: E402
from textlstm.embeddings import check_vectors_path  # noqa: E402
from textlstm.explain import explanations_html, format_explanation  # noqa: E402
from textlstm.export import check_writable, load_keras_model  # noqa: E402
from textlstm.files import write_text_atomically, write_texts_atomically  # noqa: E402
from textlstm.labels import LabelSet  # noqa: E402
from textlstm.model import build_model  # noqa: E402
from textlstm.report import training_report  # noqa: E402
from textlstm.splits import overlap  # noqa: E402
from textlstm.streaming import AUTO_THRESHOLD_BYTES  # noqa: E402
from textlstm.summary import format_summary, summarize  # noqa: E402
from textlstm.threads import use_rnn_threads  # noqa: E402
from textlstm.training import branch_mix_text, ngram_fit_text  # noqa: E402
from textlstm.wording import counted  # noqa: E402
from textlstm.tuning import OBJECTIVE, SEARCH_SPACE  # noqa: E402


_OPTION_NAMES = {"label_thresholds": "--label-threshold", "text_columns": "--text-column"}


def _option_name(field):
    return _OPTION_NAMES.get(field, "--" + field.replace("_", "-"))


class Commands(click.Group):
    """Turns library errors, and paths the system refuses, into one-line CLI errors: exit 2 for
    bad options, 1 for bad data or files; Ctrl-C exits 130, as shells report an interrupted command,
    and a closed output pipe 141 (killed by SIGPIPE, as shells report it), without a message."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            hint = "'--config'" if error.field == "config" else f"'{_option_name(error.field)}'"
            raise click.BadParameter(error.message, param_hint=hint) from None
        except TextlstmError as error:
            raise click.ClickException(str(error)) from None
        except BrokenPipeError:  # what reads the output stopped reading (| head): stop as Unix tools stop
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the final flush has nowhere to fail
            raise click.exceptions.Exit(141) from None
        except OSError as error:  # a path the system refuses: missing, not a directory, no permission, disk full
            raise click.ClickException(f"{error.filename}: {error.strerror}" if error.filename else str(error)) from None
        except KeyboardInterrupt:
            click.echo("Aborted!", err=True)
            raise click.exceptions.Exit(130) from None


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(textlstm.__version__, prog_name="textlstm")
def main():
    """LSTM text classifiers: labelled text in, a self-contained TensorFlow SavedModel out."""
    use_rnn_threads()


def config_options(command):
    """Add one option per Config field (default None: unset options leave the file's or default value)."""
    for field in reversed(dataclasses.fields(Config)):
        name = _option_name(field.name)
        help = f"{field.metadata['help']} [default: {shown_default(field)}]"
        if field.type is bool:
            option = click.option(f"{name}/--no-{name[2:]}", field.name, default=None, help=help)
        elif typing.get_origin(field.type) is typing.Literal:
            option = click.option(name, field.name, type=click.Choice(typing.get_args(field.type)), help=help)
        elif field.name == "label_thresholds":
            option = click.option(name, field.name, multiple=True, metavar="LABEL=VALUE", help=help)
        elif field.name == "class_weight":
            option = click.option(name, field.name, multiple=True, metavar="none|balanced|LABEL=WEIGHT", help=help)
        else:
            kind = typing.get_args(field.type)[0] if typing.get_origin(field.type) is typing.Union else field.type
            option = click.option(name, field.name, type=kind, help=help)
        command = option(command)
    return click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True, dir_okay=False),
        help="TOML file of settings (e.g. units = 128); options given on the command line override it.",
    )(command)


def resolve_config(config_file, values):
    """Config defaults, then the TOML file, then the options that were given."""
    try:
        base = Config.from_toml(config_file) if config_file else Config()
    except ConfigError as error:
        raise ConfigError("config", error.message if error.field == "config" else str(error)) from None
    overrides = {name: value for name, value in values.items() if value is not None and value != ()}
    config = base.replace(**overrides)
    if config.embeddings:  # before any data is read: a mistyped path should not wait for a large file
        check_vectors_path(config.embeddings)
    return config


def _config_values(kwargs):
    names = {field.name for field in dataclasses.fields(Config)}
    return {name: kwargs.pop(name) for name in list(kwargs) if name in names}


existing_file = click.Path(exists=True, dir_okay=False)
existing_data = click.Path(exists=True)


def read_options(format_option="--format"):
    """Options that say how data files are read, shared by train, evaluate and predict."""

    def decorate(command):
        options = [
            click.option(format_option, "data_format", type=click.Choice(FORMATS), help="Format of the data files. Default: from the path (a folder is one sub-folder per class; .txt starting with __label__ is fastText)."),
            click.option("--text-column", "text_columns", multiple=True, help="Column (CSV/TSV, a name or a 0-based index) or field (JSONL; a.b for a nested one) holding the text; repeat to join several, e.g. title and body. [default: text]"),
            click.option("--label-column", default="label", show_default=True, help="Column (name or 0-based index) or field (a.b for a nested one) holding the label."),
            click.option("--header/--no-header", default=None, help="Whether CSV/TSV files start with a header row. Default: yes, unless columns are given by index."),
            click.option("--delimiter", help="CSV field separator. Default: tab for .tsv, else detected among , ; | and tab."),
            click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of the data files, e.g. cp1252 (a UTF-8 BOM is always accepted)."),
            click.option("--encoding-errors", type=click.Choice(["strict", "replace"]), default="strict", show_default=True, help="strict: an invalid byte is an error naming the line; replace: replace it and go on."),
            click.option("--on-bad-row", type=click.Choice(["error", "skip"]), default="error", show_default=True, help="error: stop at the first unusable row; skip: skip such rows and report how many and where."),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _kept_columns(values, reserved, what):
    """--keep-column's values as (column, name) pairs (COLUMN=NAME renames); a name given twice, or
    one of ``reserved``, the fields of the ``what`` themselves, is a usage error."""
    kept = [value.rsplit("=", 1) if "=" in value else (value, value) for value in values]
    names = [name for _, name in kept]
    twice = [name for index, name in enumerate(names) if name in names[:index]]
    if twice:
        raise click.BadParameter(f"two columns would be copied as {twice[0]!r}; give one another name with COLUMN=NAME", param_hint="'--keep-column'")
    taken = [name for name in names if name in reserved]
    if taken:
        raise click.BadParameter(
            f"{taken[0]!r} is a field of the {what} themselves; copy it under another name, e.g. {taken[0]}=true_{taken[0]}",
            param_hint="'--keep-column'",
        )
    return kept


def _column(value):
    """A column given on the command line: a 0-based index when it is digits, else a name."""
    return int(value) if value.isdigit() else value


def _read_options(kwargs):
    """Pop the read options out of a command's keyword arguments into a ReadOptions."""
    return ReadOptions(
        format=kwargs.pop("data_format"),
        text_columns=tuple(_column(value) for value in kwargs.pop("text_columns")) or ("text",),
        label_column=_column(kwargs.pop("label_column")),
        header=kwargs.pop("header"),
        delimiter=kwargs.pop("delimiter"),
        encoding=kwargs.pop("encoding"),
        encoding_errors=kwargs.pop("encoding_errors"),
        on_bad_row=kwargs.pop("on_bad_row"),
    )


weight_column_option = click.option(
    "--weight-column",
    help="Column (CSV/TSV, a name or a 0-based index) or field (JSONL) of --train holding each text's weight in the "
    "training loss, a number >= 0 (0 leaves the text out). Validation and test texts are not weighted.",
)


def _train_options(options, weight_column, train_file):
    """How to read --train: ``options``, with the weight column when --weight-column is given."""
    if weight_column is None:
        return options
    if not train_file:
        raise click.UsageError("--weight-column reads a --train file; it does not apply to --dataset or the sample data")
    return dataclasses.replace(options, weight_column=_column(weight_column))


def cache_options(command):
    """--cache-dir and --mirror: where registered data sets are kept and fetched from."""
    command = click.option("--mirror", help="Base URL or local directory holding the data-set files under their original names. [default: $TEXTLSTM_MIRROR]")(command)
    return click.option("--cache-dir", type=click.Path(file_okay=False), help="Where downloaded data sets are kept. [default: $TEXTLSTM_CACHE, else ~/.cache/textlstm]")(command)


def dataset_options(command):
    """--dataset NAME with its cache and mirror settings."""
    command = cache_options(command)
    return click.option("--dataset", help="A registered data set by name (see `textlstm datasets list`), downloaded and verified on first use.")(command)


def _registered_splits(name, seed, cache_dir, mirror):
    splits = registry.standard_splits(registry.load(name, cache=cache_dir, mirror=mirror), seed)
    if "all" in registry.card(name)["splits"]:
        click.echo(f"{name} has no official test split: holding out a stratified 10% as test (seed {seed}).")
    return splits


def _read(reader, path, options):
    """Read with ``reader`` and print a line about skipped bad rows instead of a Python warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedRowsWarning)
        corpus = reader(path, options)
    _echo_skipped(path, corpus.skipped)
    return corpus


def _echo_skipped(path, skipped):
    """On stderr, the line saying which bad rows of ``path`` were skipped, if any were."""
    if skipped:
        click.echo(skipped_summary(path, list(skipped)), err=True)


@main.command()
@click.option("--train", "train_file", type=existing_data, help="Labelled training data (.csv, .tsv, .jsonl, fastText .txt, or a folder per class). Default: the embedded sample data.")
@click.option("--dev", "dev_file", type=existing_data, help="Labelled validation data for early stopping. Default: a stratified split of --train.")
@click.option("--test", "test_file", type=existing_data, help="Labelled test data, evaluated once after training.")
@click.option("--output", "output", type=click.Path(file_okay=False), default="textlstm-model", show_default=True, help="Export directory to create: a SavedModel with model.keras, metrics and config beside it.")
@click.option("--force", is_flag=True, help="Overwrite an existing textlstm export at --output.")
@click.option("--quiet", is_flag=True, help="No training progress (otherwise a progress bar in a terminal, one line per epoch in a file or pipe).")
@click.option("--streaming/--no-streaming", default=None, help="Read --train lazily, epoch after epoch, for files larger than memory. Default: on for files over 512 MiB.")
@click.option("--tensorboard", "tensorboard_dir", type=click.Path(file_okay=False), help="Write TensorBoard logs to this directory as training runs: loss and metrics of every epoch, training and validation (view them with `tensorboard --logdir DIR`). Needs the tensorboard package.")
@weight_column_option
@dataset_options
@read_options()
@config_options
def train(train_file, dev_file, test_file, output, force, quiet, streaming, tensorboard_dir, weight_column, dataset, cache_dir, mirror, config_file, **kwargs):
    """Train a classifier, evaluate it and write the export directory."""
    callbacks = _tensorboard_callbacks(tensorboard_dir)
    config = resolve_config(config_file, _config_values(kwargs))
    options = _read_options(kwargs)
    train_options = _train_options(options, weight_column, train_file)
    # A progress bar redraws one line in a terminal; in a file or a pipe it piles up as escape
    # codes, so there Keras writes one line per epoch.
    verbose = 0 if quiet else 1 if sys.stdout.isatty() else 2
    if streaming is None:
        streaming = bool(train_file) and os.path.isfile(train_file) and os.path.getsize(train_file) > AUTO_THRESHOLD_BYTES
    if streaming:
        if not train_file or dataset:
            raise click.UsageError("--streaming reads a --train file; it does not apply to --dataset or the sample data")
        check_writable(output, force)
        click.echo(f"Streaming {train_file}: reading it lazily, epoch after epoch.")
        classifier = textlstm.TextClassifier(config).fit_file(
            train_file, train_options, dev_file, verbose=verbose, callbacks=callbacks
        )
        test = (test_file, options) if test_file else None
        _echo_outcome(classifier, dev_file, quiet)
    else:
        train_corpus, dev_corpus, test_corpus = _training_data(
            train_file, dev_file, test_file, dataset, config.seed, cache_dir, mirror, options, train_options
        )
        _check_before_training(train_corpus, dev_corpus, test_corpus, config, output, force)
        classifier = textlstm.TextClassifier(config).fit(
            train_corpus.texts,
            train_corpus.labels,
            validation_data=dev_corpus,
            verbose=verbose,
            sample_weight=train_corpus.weights,
            callbacks=callbacks,
        )
        _echo_outcome(classifier, dev_corpus and dev_corpus.path, quiet)
        test = test_corpus
    summary = None if streaming else _data_summary(train_corpus, dev_corpus, test_corpus, config)
    _evaluate_and_export(classifier, test, output, force, summary)


def _tensorboard_callbacks(log_dir):
    """[keras.callbacks.TensorBoard(log_dir)], or [] when ``log_dir`` is None. Keras writes the
    logs through the tensorboard package, which TensorFlow does not install: without it, a usage
    error before any reading or training (Keras would fail at the end of the first epoch)."""
    if log_dir is None:
        return []
    if importlib.util.find_spec("tensorboard") is None:
        raise click.UsageError("--tensorboard writes its logs with the tensorboard package, which is not installed: pip install tensorboard")
    return [keras.callbacks.TensorBoard(log_dir)]


def _data_summary(train_corpus, dev_corpus, test_corpus, config):
    """The data report of the corpora given (``textlstm.summary``), as text for the training report."""
    splits = {"train": train_corpus, "dev": dev_corpus, "test": test_corpus}
    given = {name: corpus for name, corpus in splits.items() if corpus is not None}
    return format_summary(summarize(given, config.tokenizer, config.lowercase))


def _evaluate_and_export(classifier, test, output, force, data_summary, files=None):
    """Print validation (and test) metrics, then write the export with metrics.json, history.json and
    report.html.

    Args:
        test: None; a Corpus; or (path, ReadOptions) of a file to evaluate in parts (a streamed fit's).
    """
    metrics = {"validation": classifier.validation_report_}
    click.echo("\nValidation\n" + format_report(classifier.validation_report_))
    example = "some text to classify"
    if isinstance(test, Corpus):
        metrics["test"] = classifier.evaluate(test.texts, test.labels, test.where)
        test_path, example = test.path, test.texts[0]
    elif test is not None:
        (test_path, options), skipped = test, []
        metrics["test"] = classifier.evaluate_file(test_path, options, skipped=skipped)
        _echo_skipped(test_path, skipped)
    if test is not None:
        click.echo(f"\nTest ({test_path})\n" + format_report(metrics["test"]))
    report = training_report(classifier, data_summary)
    files = {"metrics.json": metrics, "history.json": classifier.history_, "report.html": report, **(files or {})}
    classifier.export(output, force=force, files=files)
    click.echo(f"\nExport written to {output}/ (SavedModel, model.keras, textlstm.json, {', '.join(files)}).")
    click.echo(f"Predict with:\n  textlstm predict {shlex.quote(output)} {shlex.quote(example)}")


@main.command()
@click.option("--budget", type=click.FloatRange(min=0, min_open=True), required=True, help="Minutes of search: no new trial starts after them (the running one finishes).")
@click.option("--max-trials", type=click.IntRange(min=1), help="Stop after this many trials even if time is left.")
@click.option("--train", "train_file", type=existing_data, help="Labelled training data. Default: the embedded sample data.")
@click.option("--dev", "dev_file", type=existing_data, help="Labelled validation data that scores every trial. Default: one stratified split of --train.")
@click.option("--test", "test_file", type=existing_data, help="Labelled test data, evaluated once with the best trial's model.")
@click.option("--output", "output", type=click.Path(file_okay=False), default="textlstm-model", show_default=True, help="Export directory to create for the best trial's model, with tuning.json beside it.")
@click.option("--force", is_flag=True, help="Overwrite an existing textlstm export at --output.")
@click.option("--tensorboard", "tensorboard_dir", type=click.Path(file_okay=False), help="Write TensorBoard logs of every trial's epochs to DIR/trial_N as the search runs. Needs the tensorboard package.")
@weight_column_option
@dataset_options
@read_options()
@config_options
def tune(budget, max_trials, train_file, dev_file, test_file, output, force, tensorboard_dir, weight_column, dataset, cache_dir, mirror, config_file, **kwargs):
    """Search the main settings on the validation data for --budget minutes, then export the best model.

    The first trial is the configuration given by the other options; the rest are drawn at random
    (KerasTuner) from textlstm.tuning.SEARCH_SPACE.
    """
    callbacks = _tensorboard_callbacks(tensorboard_dir)
    config = resolve_config(config_file, _config_values(kwargs))
    options = _read_options(kwargs)
    train_options = _train_options(options, weight_column, train_file)
    train_corpus, dev_corpus, test_corpus = _training_data(
        train_file, dev_file, test_file, dataset, config.seed, cache_dir, mirror, options, train_options
    )
    _check_before_training(train_corpus, dev_corpus, test_corpus, config, output, force)
    click.echo(f"Searching {', '.join(SEARCH_SPACE)} for {budget:g} minute{'' if budget == 1 else 's'} (validation macro-F1 decides).")

    def report(record):
        settings = " ".join(f"{name}={value}" for name, value in record["settings"].items())
        click.echo(
            f"trial {record['trial']}: val macro-F1 {record[OBJECTIVE]:.4f}, accuracy {record['val_accuracy']:.4f}, "
            f"{record['seconds']:.0f} s; {settings}"
        )

    result = textlstm.tune(
        train_corpus.texts, train_corpus.labels, budget, config, dev_corpus, max_trials, on_trial=report,
        sample_weight=train_corpus.weights, callbacks=callbacks,
    )
    best = result.trials[result.best]
    click.echo(f"Best: trial {best['trial']} of {len(result.trials)} (val macro-F1 {best[OBJECTIVE]:.4f}).")
    summary = _data_summary(train_corpus, dev_corpus, test_corpus, config)
    _evaluate_and_export(result.classifier, test_corpus, output, force, summary, files={"tuning.json": result.to_dict()})


def _training_data(train_file, dev_file, test_file, dataset, seed, cache_dir, mirror, options, train_options):
    """(train, dev or None, test or None) Corpora: from files, a registered data set, or the embedded sample.

    ``train_options`` read --train, ``options`` --dev and --test."""
    if dataset and train_file:
        raise click.UsageError("give --dataset or --train, not both")
    # --dev and --test, where given, replace the data set's or the sample's own splits.
    dev = _read(read_corpus, dev_file, options) if dev_file else None
    test = _read(read_corpus, test_file, options) if test_file else None
    if dataset:
        splits = _registered_splits(dataset, seed, cache_dir, mirror)
        return (
            splits["train"],
            splits.get("dev") if dev is None else dev,
            splits["test"] if test is None else test,
        )
    if train_file is None:
        click.echo(f"No --train given: using the embedded sample data ({sample_path('train')}).")
        return read_corpus(sample_path("train")), dev, read_corpus(sample_path("test")) if test is None else test
    return _read(read_corpus, train_file, train_options), dev, test


def _check_before_training(train_corpus, dev_corpus, test_corpus, config, output, force):
    """Fail fast, before any training: labels, classes, thresholds, weights, the output directory;
    warn on train/test overlap."""
    label_set = LabelSet.fit(
        train_corpus.labels, config.task == "multi-label", config.label_delimiter, source=train_corpus.path
    )
    config.check_labels(label_set.classes)
    if train_corpus.weights is not None and not any(train_corpus.weights):
        raise DataError(f"{train_corpus.path}: every weight is 0 (--weight-column)")
    for corpus in (dev_corpus, test_corpus):
        if corpus is not None:
            label_set.encode(corpus.labels, corpus.where)
    check_writable(output, force)
    if test_corpus is not None:
        shared = overlap(train_corpus, test_corpus)
        if shared:
            click.echo(
                f"Warning: {len(shared)} test texts also occur in the training data (e.g. {test_corpus.where(shared[0])}).",
                err=True,
            )
    _echo_data(train_corpus, label_set)


def _echo_data(corpus, label_set):
    targets = label_set.encode(corpus.labels, corpus.where)
    counts = ", ".join(f"{name}: {int(n):,}" for name, n in zip(label_set.classes, targets.sum(axis=0)))
    click.echo(f"Training data: {corpus.path}: {len(corpus):,} texts, {len(label_set.classes)} classes ({counts})")


def _echo_outcome(classifier, dev_path, quiet):
    if quiet:  # fit printed this before training unless progress output was off
        click.echo(classifier.preparation_)
    config = classifier.config_
    validation = dev_path or f"{config.validation_split:.0%} of the training data"
    click.echo(
        f"Validation: {validation}; best epoch {classifier.history_['best_epoch']} "
        f"of {len(classifier.history_['loss'])} (early stopping on {config.early_stopping})"
    )
    mix = branch_mix_text(classifier.history_)
    if mix:
        click.echo(f"Output: {mix}")
        click.echo(f"N-gram branch: {ngram_fit_text(classifier.history_)}")


@main.command()
@click.argument("export_dir", type=click.Path())
@click.option("--test", "test_file", type=existing_data, help="Labelled data to evaluate on.")
@click.option("--output", type=click.Path(dir_okay=False), help="Also save the metrics as JSON to this file.")
@click.option("--misclassified", "misclassified_file", type=click.Path(dir_okay=False), help="Also write every misclassified text to this .csv, .tsv or .jsonl file (where, text, label, predicted, score, loss), largest loss first: the most confident mistakes.")
@click.option("--against", "other_dir", type=click.Path(), help="Another export with the same classes, evaluated on the same texts: its report, then EXPORT_DIR's accuracy and macro-F1 minus its own with 95% paired-bootstrap intervals.")
@click.option("--keep-column", "keep_columns", multiple=True, help="Column (CSV/TSV, a name or a 0-based index) or field (JSONL) of --test copied into each --misclassified record, e.g. an id; COLUMN=NAME copies it under another name. Repeat for several.")
@dataset_options
@read_options()
def evaluate(export_dir, test_file, output, misclassified_file, other_dir, keep_columns, dataset, cache_dir, mirror, **kwargs):
    """Evaluate an export directory on labelled data (--test FILE, or the test split of --dataset)."""
    options = _read_options(kwargs)
    if bool(test_file) == bool(dataset):
        raise click.UsageError("give --test FILE or --dataset NAME (one of them)")
    misclassified_format = misclassified_file and _records_format(misclassified_file, "--misclassified")
    if output and misclassified_file and Path(output).resolve() == Path(misclassified_file).resolve():
        raise click.UsageError("--output and --misclassified name the same file; give each its own")
    kept = _kept_columns(keep_columns, MISCLASSIFIED_FIELDS, "misclassified records")
    if kept:
        if not misclassified_file:
            raise click.UsageError("--keep-column copies columns into the --misclassified records; give --misclassified FILE")
        if dataset:
            raise click.UsageError("--keep-column copies columns of a --test file; a --dataset's test split has none to copy")
        options = dataclasses.replace(options, keep_columns=tuple(_column(column) for column, _ in kept))
    predictor = textlstm.load(export_dir)
    other = other_dir and textlstm.load(other_dir)
    if other and other.classes_.tolist() != predictor.classes_.tolist():
        raise click.BadParameter(
            f"{other_dir} predicts other classes ({', '.join(other.classes_)}) than {export_dir} ({', '.join(predictor.classes_)})",
            param_hint="'--against'",
        )
    misclassified = [] if misclassified_file else None
    if dataset:
        corpus = _registered_splits(dataset, predictor.config.seed, cache_dir, mirror)["test"]
        test_file = corpus.path
        report = predictor.evaluate(corpus.texts, corpus.labels, corpus.where, misclassified, against=other)
    else:
        skipped = []
        report = predictor.evaluate_file(test_file, options, skipped=skipped, misclassified=misclassified, against=other)
        _echo_skipped(test_file, skipped)
    click.echo(f"Test ({test_file})\n" + format_report(report))
    if other:
        click.echo(f"\n{other_dir} on the same texts\n" + format_report(report["against"]["report"]))
        click.echo("\n" + format_against(report, export_dir, other_dir))
    files = {output: json.dumps(report, indent=2, ensure_ascii=False)} if output else {}
    if misclassified_file:
        names = {str(_column(column)): name for column, name in kept}  # the records name a column as given
        misclassified = [
            {**{names[column]: value for column, value in record.pop("kept", {}).items()}, **record} for record in misclassified
        ]
        misclassified.sort(key=lambda record: -record["loss"])
        files[misclassified_file] = _records_text(misclassified, [*names.values(), *MISCLASSIFIED_FIELDS], misclassified_format)
    write_texts_atomically(files)
    saved = [f"Metrics saved to {output}"] if output else []
    if misclassified_file:
        saved.append(f"{counted(len(misclassified), 'misclassified text')} written to {misclassified_file} (largest loss first)")
    if saved:
        click.echo("\n" + "\n".join(saved))


def _records_format(path, option):
    """csv, tsv or jsonl, from the extension of ``path``; another is a usage error naming ``option``."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".tsv", ".jsonl"):
        raise click.BadParameter(f"{path}: the name must end in .csv, .tsv or .jsonl, the format to write", param_hint=f"'{option}'")
    return suffix[1:]


def _records_text(records, fields, output_format):
    """``records`` (dicts with ``fields``) as CSV or TSV with a header row, or as JSON lines."""
    if output_format == "jsonl":
        return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    rows = [fields, *([record[field] for field in fields] for record in records)]
    return _csv_text(rows, delimiter="\t" if output_format == "tsv" else ",")


@main.command()
@click.argument("export_dir", type=click.Path())
@click.argument("texts", nargs=-1)
@click.option("--input", "input_file", type=click.Path(allow_dash=True), help="Texts to classify: .txt (one per line), .csv/.tsv, .jsonl, fastText, or a folder (every .txt file under it is a text; predictions name its file); - for stdin. Default: TEXT arguments, else stdin.")
@click.option("--format", "output_format", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True, help="Output format.")
@click.option("--top-k", type=click.IntRange(min=1), default=1, show_default=True, help="Labels to list per text, most probable first.")
@click.option("--output", type=click.Path(dir_okay=False), help="Write predictions to this file instead of stdout.")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True, help="Texts per call of the model.")
@click.option("--keep-column", "keep_columns", multiple=True, help="Column (CSV/TSV, a name or a 0-based index) or field (JSONL) of --input copied into each prediction, e.g. an id; COLUMN=NAME copies it under another name (label=true_label). Repeat for several.")
@read_options(format_option="--input-format")
def predict(export_dir, texts, input_file, output_format, top_k, output, batch_size, keep_columns, **kwargs):
    """Classify texts with an export directory: the TEXTS given, or a lone - to read them from stdin."""
    options = _read_options(kwargs)
    if texts and input_file:
        raise click.UsageError("give TEXT arguments or --input, not both")
    if texts == ("-",):
        texts, input_file = (), "-"
    kept = _kept_columns(keep_columns, ("text", "label", "score", "top_k", *_top_k_names(top_k)), "predictions")
    if kept:
        if input_file in (None, "-"):
            raise click.UsageError("--keep-column copies columns of an --input file; TEXT arguments and stdin have none")
        options = dataclasses.replace(options, keep_columns=tuple(_column(column) for column, _ in kept))
    names = [name for _, name in kept]
    predictor = textlstm.load(export_dir)
    if texts:
        parts = [corpus_from_lines(texts, source="arguments")]
    elif input_file and input_file != "-":
        folder = detect_format(input_file, options.format) == "folder"
        parts = _input_parts(input_file, options, batch_size, keep_files=folder)
        names = ["file"] if folder else names
    elif input_file == "-" or not sys.stdin.isatty():
        parts = _line_parts(sys.stdin, batch_size)
    else:
        raise click.UsageError("nothing to classify: give TEXT arguments, --input FILE, or pipe texts to stdin")
    top_k = min(top_k, len(predictor.classes_))
    chunks = _prediction_chunks(predictor, parts, batch_size, output_format, names, top_k)
    if output:
        write_text_atomically(output, chunks)
    else:
        for chunk in chunks:
            click.echo(chunk, nl=False)


def _input_parts(path, options, size, keep_files=False):
    """The --input file's texts as Corpora of ``size``, read lazily; then a line about skipped bad
    rows. With ``keep_files`` (a folder's), each part keeps each text's file as ``kept["file"]``."""
    skipped = []
    for part in iter_corpora(path, options, size, labelled=False, skipped=skipped):
        yield dataclasses.replace(part, kept={"file": list(part.locations)}) if keep_files else part
    _echo_skipped(path, skipped)


def _line_parts(lines, size):
    """Corpora of ``size`` lines each (the last one shorter), read from ``lines`` as they come."""
    lines = iter(lines)
    while part := list(itertools.islice(lines, size)):
        yield corpus_from_lines(part)


def _prediction_chunks(predictor, parts, batch_size, output_format, kept_names, top_k):
    """The predictions of the texts of ``parts`` (Corpora) as text in ``output_format``: CSV's
    header, then a chunk per part, so that no more texts are held at once."""
    if output_format == "csv":
        yield _csv_text([[*kept_names, "text", "label", "score", *_top_k_names(top_k)]])
    for part in parts:
        outputs = predictor.predict_outputs(part.texts, batch_size=batch_size)
        kept = zip(*part.kept.values()) if part.kept else [()] * len(part)
        rows = _prediction_rows(part.texts, kept, kept_names, outputs, predictor.classes_, top_k)
        if output_format == "jsonl":
            yield "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        else:
            yield _csv_text(_csv_cells(row, kept_names) for row in rows)


def _top_k_names(top_k):
    return [name for rank in range(1, top_k + 1) for name in (f"label_{rank}", f"probability_{rank}")]


def _prediction_rows(texts, kept, kept_names, outputs, classes, top_k):
    """One dict per text: its kept values under ``kept_names`` first, then the prediction."""
    order = (-outputs["probabilities"]).argsort(axis=1, kind="stable")[:, :top_k]
    for text, values, label, score, probabilities, top in zip(
        texts, kept, outputs["label"], outputs["score"], outputs["probabilities"], order
    ):
        yield {
            **dict(zip(kept_names, values)),
            "text": text,
            "label": label,
            "score": round(float(score), 6),
            "top_k": [{"label": str(classes[j]), "probability": round(float(probabilities[j]), 6)} for j in top],
        }


def _csv_cells(row, kept_names):
    """A prediction's CSV cells: kept values (one that is not a string as JSON, a missing one
    empty), text, label, score, then label_N, probability_N."""
    kept = [row[name] if isinstance(row[name], str) or row[name] is None else json.dumps(row[name], ensure_ascii=False) for name in kept_names]
    return [*kept, row["text"], row["label"], row["score"], *[cell for item in row["top_k"] for cell in (item["label"], item["probability"])]]


def _csv_text(rows, delimiter=","):
    """CSV lines of ``rows``, lists of cells (TSV with a tab ``delimiter``)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


@main.command()
@click.argument("source", required=False, type=click.Path(exists=True))
@click.option("--vocabulary-size", type=click.IntRange(min=3), help="Ids (padding and OOV included) when describing a configuration. [default: --max-tokens]")
@click.option("--classes", type=click.IntRange(min=2), help="Output classes when describing a configuration. [default: 2]")
@click.option("--time-major/--batch-first", default=False, help="Write sequence shapes as (time, batch, features) instead of Keras's (batch, time, features).")
@config_options
def describe(source, vocabulary_size, classes, time_major, config_file, **kwargs):
    """Every layer's output shape, RNN states and parameter formula, for an export directory, a model.keras
    file, or (without SOURCE) the configuration the options and --config give."""
    if source:
        if any(value not in (None, ()) for value in kwargs.values()) or config_file or classes or vocabulary_size:
            raise click.UsageError("configuration options, --classes and --vocabulary-size describe a new model; give them without SOURCE")
        path = Path(source)
        _, model, _, _ = load_keras_model(path / "model.keras" if path.is_dir() else path)
    else:
        config = resolve_config(config_file, _config_values(kwargs))
        model = build_model(config, vocabulary_size or config.max_tokens, classes or 2)
    click.echo(format_description(describe_model(model, time_major)))


@main.command()
@click.argument("export_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("texts", nargs=-1)
@click.option("--input", "input_file", type=click.Path(allow_dash=True), help="Texts to explain, read as predict --input reads them (e.g. evaluate --misclassified's CSV); - for stdin, one a line.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), default="explanation.html", show_default=True, help="HTML page with every token highlighted by its weight.")
@read_options(format_option="--input-format")
def explain(export_dir, texts, input_file, html_file, **kwargs):
    """Per-token weights of the predictions for TEXTS (a lone - reads them from stdin, one a line)
    or the texts of --input: attention weights for an attention head, occlusion (the drop of the
    predicted class's probability without the token) for the others."""
    options = _read_options(kwargs)
    if texts and input_file:
        raise click.UsageError("give TEXT arguments or --input, not both")
    if texts == ("-",) or input_file == "-":
        texts = corpus_from_lines(sys.stdin).texts
    elif input_file:
        texts = _read(read_texts, input_file, options).texts
    elif not texts:
        raise click.UsageError("nothing to explain: give TEXT arguments or --input FILE (- for stdin)")
    explanations = textlstm.explain(export_dir, list(texts))
    for explanation in explanations:
        click.echo(format_explanation(explanation))
    write_text_atomically(html_file, explanations_html(explanations))
    click.echo(f"Written {html_file}")


@main.command(name="export")
@click.argument("model_file", type=existing_file)
@click.option("--output", type=click.Path(file_okay=False), required=True, help="Export directory to create.")
@click.option("--force", is_flag=True, help="Overwrite an existing textlstm export at --output.")
def export_command(model_file, output, force):
    """Write an export directory from a model.keras that textlstm saved (textlstm.json beside it)."""
    classifier = textlstm.TextClassifier.from_keras(model_file)
    classifier.export(output, force=force)
    click.echo(f"Export written to {output}/")


@main.group(name="datasets")
def datasets_group():
    """Standard data sets: list them, describe them or a file, download them, write them as CSV."""


@datasets_group.command(name="list")
def datasets_list():
    """The registered data sets."""
    cards = {name: registry.card(name) for name in registry.names()}
    rows = {name: ", ".join(f"{split} {count:,}" for split, count in card["rows"].items()) for name, card in cards.items()}
    name_width = max(len("name"), *map(len, cards)) + 2
    rows_width = max(len("rows"), *map(len, rows.values())) + 2
    click.echo(f"{'name':<{name_width}}{'lang':<6}{'classes':>7}  {'rows':<{rows_width}}title")
    for name, card in cards.items():
        click.echo(f"{name:<{name_width}}{card['language']:<6}{len(card['labels']):>7}  {rows[name]:<{rows_width}}{card['title']}")


@datasets_group.command(name="info")
@click.argument("name_or_file")
@click.option("--test", "test_file", type=existing_data, help="With a file: also count its texts that occur in this file.")
@click.option("--tokenizer", type=click.Choice(["auto", "word", "char"]), default="auto", show_default=True, help="How tokens are counted.")
@click.option("--lowercase", is_flag=True, help="Count lower-cased tokens (training keeps case unless --lowercase).")
@cache_options
@read_options()
def datasets_info(name_or_file, test_file, tokenizer, lowercase, cache_dir, mirror, **kwargs):
    """Describe a registered data set (card and data) or a labelled file: classes, lengths, duplicates, overlap."""
    options = _read_options(kwargs)
    if name_or_file in registry.names() and not os.path.exists(name_or_file):
        card = registry.card(name_or_file)
        click.echo(f"{card['name']}: {card['title']}\n  homepage: {card['homepage']}\n  license: {card['license']}")
        click.echo(f"  citation: {card['citation']}")
        for file, spec in card["files"].items():
            size = f"{spec['size']:,} bytes" if spec.get("size") else "size not published"
            click.echo(f"  file {file}: {spec['url']} ({size}, sha256 {spec['sha256']})")
        splits = registry.load(name_or_file, cache=cache_dir, mirror=mirror)
    else:
        splits = {"data": _read(read_corpus, name_or_file, options)}
        if test_file:
            splits["test"] = _read(read_corpus, test_file, options)
    click.echo(format_summary(summarize(splits, tokenizer, lowercase)))


@datasets_group.command(name="write")
@click.argument("name")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the stratified 10% test split of a data set published as one file.")
@click.option("--force", is_flag=True, help="Overwrite split files already in DIRECTORY.")
@cache_options
def datasets_write(name, directory, seed, force, cache_dir, mirror):
    """Write a registered data set's splits as DIRECTORY/train.csv, test.csv (and dev.csv): text,label."""
    splits = _registered_splits(name, seed, cache_dir, mirror)
    for split, path in registry.write_csv(splits, directory, force=force).items():
        click.echo(f"{path}: {len(splits[split]):,} texts ({split})")


@datasets_group.command(name="download")
@click.argument("name")
@cache_options
def datasets_download(name, cache_dir, mirror):
    """Download and verify a registered data set into the cache."""
    for file, path in registry.download(name, cache=cache_dir, mirror=mirror).items():
        click.echo(f"{file}: {path} (SHA-256 verified)")


if __name__ == "__main__":
    main()
