"""The ``affectline`` command line."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from multimodal.errors import AffectlineError
from multimodal.settings import Settings, load_settings

app = typer.Typer(
    name="affectline",
    help="Multimodal emotion analysis: faces (FACS action units) and voice in recordings.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _quiet_native_logs() -> None:
    """MediaPipe's C++ logging writes INFO/WARNING lines to stderr; keep only errors."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except AffectlineError as e:
        raise _fail(str(e)) from None


@app.command()
def analyze(
    paths: Annotated[
        list[Path], typer.Argument(help="Media files or folders (searched recursively).")
    ],
    fps: Annotated[
        float | None,
        typer.Option("--fps", help="Frames analysed per second (default 5; 0 = every frame)."),
    ] = None,
    modalities: Annotated[
        str | None,
        typer.Option(
            "--modalities",
            help="Comma-separated: face, voice, text (default: every one the input has "
            "streams for).",
        ),
    ] = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Where results are written.")
    ] = Path("affectline-out"),
    baseline: Annotated[
        bool | None,
        typer.Option(
            "--baseline/--no-baseline",
            help="Subtract each face's own resting level (default on, for tracks of 5 s or more).",
        ),
    ] = None,
    max_faces: Annotated[
        int | None, typer.Option("--max-faces", help="Most faces coded per frame (default 5).")
    ] = None,
    transcript: Annotated[
        Path | None,
        typer.Option(
            "--transcript",
            help="SRT, WebVTT or plain-text transcript to use instead of speech recognition "
            "(one input only).",
        ),
    ] = None,
    grid_step: Annotated[
        float | None,
        typer.Option("--grid-step", help="Seconds per step of the fused timeline (default 0.5)."),
    ] = None,
    subject: Annotated[
        int | None,
        typer.Option(
            "--subject",
            help="Face id whose fused profile is the timeline (default: the face seen most).",
        ),
    ] = None,
    report: Annotated[
        bool | None,
        typer.Option("--report/--no-report", help="Write report.html (default on)."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Analyse each input, fuse its modalities on one timeline, and write result.json,
    timeline.csv, faces.csv, voice.csv, transcript.csv and report.html."""
    _quiet_native_logs()
    from multimodal.inputs import expand_inputs, output_names
    from multimodal.pipeline import Analyzer, parse_modalities

    settings = _settings(
        analysis_fps=fps,
        face_baseline=baseline,
        max_faces=max_faces,
        grid_step=grid_step,
        report=report,
    )
    try:
        chosen = None if modalities is None else parse_modalities(modalities)
    except AffectlineError as e:
        raise _fail(str(e)) from None
    items = expand_inputs(paths)
    if not items:
        raise _fail("no files found in the given folders; give media files or folders with some")
    if transcript is not None:
        if len(items) != 1:
            raise _fail("--transcript belongs to one recording; give exactly one input with it")
        if not transcript.is_file():
            raise _fail(f"{transcript}: no such transcript file; check the path")
    try:
        analyzer = Analyzer(settings, chosen)
    except AffectlineError as e:
        raise _fail(str(e)) from None

    names = output_names(items)
    summary: list[dict[str, Any]] = []
    for item, name in zip(items, names, strict=True):
        started = time.monotonic()
        entry: dict[str, Any] = {"source": item.source, "path": str(item.path)}
        try:
            result = _analyze_one(analyzer, item.path, item.source, transcript, subject)
            from multimodal.results import write_result

            written = write_result(result, output_dir / name, report=settings.report)
        except AffectlineError as e:
            entry.update(status="failed", error=str(e), error_type=type(e).__name__)
            typer.echo(f"error: {e}", err=True)
        except OSError as e:
            message = f"{item.source}: cannot write results to {output_dir / name} ({e})"
            entry.update(status="failed", error=message, error_type="OutputError")
            typer.echo(f"error: {message}; choose another --output-dir", err=True)
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as e:  # a bug: report it on one line unless debugging
            if debug:
                raise
            entry.update(status="failed", error=f"{type(e).__name__}: {e}", error_type="bug")
            typer.echo(
                f"error: {item.source}: unexpected failure ({type(e).__name__}: {e}); "
                "rerun with --debug and report it",
                err=True,
            )
        else:
            for warning in result.warnings:
                typer.echo(f"warning: {warning}", err=True)
            faces = result.faces
            entry.update(
                status="ok",
                output={k: str(v) for k, v in written.items()},
                warnings=list(result.warnings),
                modalities=list(result.modalities),
                frames=len(faces.frame_times) if faces else 0,
                faces=len(faces.tracks) if faces else 0,
                speech_segments=len(result.voice.segments) if result.voice else 0,
                utterances=len(result.text.utterances) if result.text else 0,
                dominant=(
                    ", ".join(e for e, _ in result.fusion.summary.dominant)
                    if result.fusion is not None
                    else None
                ),
                key_moments=len(result.fusion.moments) if result.fusion is not None else 0,
                seconds=round(time.monotonic() - started, 2),
            )
        summary.append(entry)

    failed = [done for done in summary if done["status"] != "ok"]
    if len(items) > 1 or not failed:
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
            (output_dir / "summary.json").write_text(
                json.dumps({"inputs": summary, "failed": len(failed)}, indent=1) + "\n"
            )
        except OSError as e:
            raise _fail(f"cannot write {output_dir / 'summary.json'} ({e})", 1) from None
        for done in summary:
            if done["status"] == "ok":
                parts = []
                if "face" in done["modalities"]:
                    parts.append(f"{done['frames']} frames, {done['faces']} face(s)")
                if "voice" in done["modalities"]:
                    parts.append(f"{done['speech_segments']} speech segment(s)")
                if "text" in done["modalities"]:
                    parts.append(f"{done['utterances']} utterance(s)")
                if done.get("dominant"):
                    parts.append(f"mostly {done['dominant']}")
                typer.echo(
                    f"ok      {done['source']}: {'; '.join(parts)} "
                    f"-> {Path(done['output']['json']).parent}"
                )
            else:
                typer.echo(f"FAILED  {done['error']}")
        typer.echo(f"{len(summary) - len(failed)} analysed, {len(failed)} failed; "
                   f"summary in {output_dir / 'summary.json'}")  # fmt: skip
    if failed:
        raise typer.Exit(1)


def _analyze_one(
    analyzer: Any, path: Path, source: str, transcript: Path | None, subject: int | None
) -> Any:
    import threading

    from tqdm import tqdm

    bars: dict[str, tqdm[Any]] = {}
    lock = threading.Lock()  # faces and speech report from two threads

    def hook(step: str, completed: int, total: int | None = None) -> None:
        with lock:
            bar = bars.get(step)
            if bar is None:
                unit = "frame" if step == "face" else "segment"
                bar = bars[step] = tqdm(total=total, desc=f"{step} {source}", unit=unit,
                                        leave=False, disable=None, file=sys.stderr,
                                        position=len(bars))  # fmt: skip
            if total is not None and completed > (bar.total or 0):
                bar.total = completed
            bar.n = completed
            bar.refresh()

    try:
        return analyzer.analyze(path, source, hook=hook, transcript=transcript, subject=subject)
    finally:
        for bar in bars.values():
            bar.close()


@app.command()
def probe(
    path: Annotated[Path, typer.Argument(help="A media file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    count_frames: Annotated[
        bool,
        typer.Option(
            "--count-frames/--no-count-frames",
            help="Count video frames when the container does not say (reads the whole file).",
        ),
    ] = True,
) -> None:
    """Print what ffmpeg reports about a media file."""
    from multimodal.media import probe as probe_media

    try:
        info = probe_media(path, _settings(), count_frames=count_frames)
    except AffectlineError as e:
        raise _fail(str(e)) from None
    facts = info.to_dict()
    if as_json:
        typer.echo(json.dumps(facts, indent=1))
        return
    typer.echo(f"file:       {facts['path']}")
    typer.echo(f"container:  {facts['container']}")
    typer.echo(f"duration:   {_num(facts['duration'], 's')}")
    typer.echo(f"size:       {facts['size_bytes']} bytes")
    v = facts["video"]
    if v is None:
        typer.echo("video:      none")
    else:
        typer.echo(
            f"video:      {v['codec']} {v['width']}x{v['height']}, rotation {v['rotation']}, "
            f"shown {v['display_width']}x{v['display_height']}"
            + (", still image" if v["is_still"] else "")
        )
        frames = v["frame_count"] if v["frame_count"] is not None else "unknown"
        typer.echo(
            f"            nominal {_num(v['nominal_fps'], 'fps')}, "
            f"real {_num(v['real_fps'], 'fps')}, {frames} frames"
        )
    a = facts["audio"]
    if a is None:
        typer.echo("audio:      none")
    else:
        typer.echo(f"audio:      {a['codec']} {a['sample_rate']} Hz, {a['channels']} channel(s)")


@app.command()
def text(
    file: Annotated[
        str,
        typer.Argument(help="A UTF-8 text file, one utterance per line; - reads standard input."),
    ],  # fmt: skip
    batch: Annotated[int, typer.Option("--batch", help="Lines scored at a time.")] = 256,
) -> None:
    """Score the emotion of each line of text; CSV on standard output, one row per line."""
    import csv

    from models.text.emotion import TextEmotionModel
    from multimodal.results import TEXT_CSV_COLUMNS, text_rows

    settings = _settings()
    if file == "-":
        stream = sys.stdin
    else:
        path = Path(file)
        if not path.is_file():
            raise _fail(f"{file}: no such file; give a text file or - for standard input")
        stream = path.open(encoding="utf-8", errors="replace")
    try:
        model = TextEmotionModel(settings.text_model_path, threads=settings.whisper_threads)
    except AffectlineError as e:
        raise _fail(str(e)) from None
    writer = csv.writer(sys.stdout)
    writer.writerow(TEXT_CSV_COLUMNS)
    lines: list[str] = []

    def flush() -> None:
        filled = [i for i, t in enumerate(lines) if t.strip()]
        basic: list[Any] = [None] * len(lines)
        valence: list[Any] = [None] * len(lines)
        if filled:
            _, b, v = model.predict([lines[i] for i in filled])
            for k, i in enumerate(filled):
                basic[i], valence[i] = b[k], v[k]
        writer.writerows(text_rows(lines, basic, valence))
        sys.stdout.flush()
        lines.clear()

    with stream:
        for raw in stream:
            lines.append(raw.rstrip("\r\n"))
            if len(lines) >= batch:
                flush()
        if lines:
            flush()


@app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Resolve every model offline and list it (fails when one is missing)."""
    _quiet_native_logs()
    from multimodal.pipeline import Analyzer

    try:
        found = Analyzer(_settings()).models()
    except AffectlineError as e:
        raise _fail(str(e)) from None
    if as_json:
        typer.echo(json.dumps(found, indent=1))
        return
    for m in found:
        typer.echo(f"{m.get('name', '?'):32} {m.get('version', ''):12.12} "
                   f"{(m.get('sha256') or '-')[:16]:16} {m.get('origin', '')}")  # fmt: skip


def _num(value: float | None, unit: str) -> str:
    return "unknown" if value is None else f"{value:g} {unit}"


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
