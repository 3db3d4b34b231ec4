"""`geohazard` commands beside the question flow: the runout estimate (`reach`, no model), the audit log, model
files, and the evaluation tools in eval/."""

from __future__ import annotations

import json
import sys

from app.config import load_settings
from app.provision import install_model, model_status


def emit(payload: dict) -> None:
    """One JSON object on one line (the --json and --batch output)."""
    print(json.dumps(payload, ensure_ascii=False), flush=True)


def cmd_forward(args) -> int:
    """`geohazard eval|bench ARGS` runs `python -m eval eval|bench ARGS` in the project checkout: evaluation
    and benchmarks live in eval/, above the product, which never imports them."""
    import subprocess

    from app.config import PROJECT_ROOT

    if not (PROJECT_ROOT / "eval" / "__main__.py").is_file():
        print(f"错误：评测代码只在项目源码目录中提供 / error: eval/ is not in {PROJECT_ROOT} (a source checkout "
              "with the eval extra installed is needed)", file=sys.stderr)
        return 2
    return subprocess.call([sys.executable, "-m", "eval", args.command, *args.args], cwd=PROJECT_ROOT)


def cmd_audit_export(args) -> int:
    from datetime import datetime

    from app import audit

    try:
        since = datetime.fromisoformat(args.since) if args.since else None
    except ValueError:
        print(f"错误：无法识别的时间 / error: not an ISO time: {args.since}", file=sys.stderr)
        return 2
    db = audit.connect(load_settings().audit_db)
    try:
        records = audit.read_records(db, since)
    finally:
        db.close()
    text = audit.to_csv(records) if args.format == "csv" else audit.to_jsonl(records)
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        print(f"已导出 / exported: {len(records)} records → {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _audit_records() -> tuple[list[dict], object]:
    from app import audit

    path = load_settings().audit_db
    db = audit.connect(path)
    try:
        return audit.read_records(db), path
    finally:
        db.close()


def cmd_audit_head(args) -> int:
    """Print the newest record's hash: write it in the duty log (or anywhere the machine's users cannot
    write); `audit verify --expect HASH` later proves that record and everything before it is unchanged."""
    from app import audit

    records, _ = _audit_records()
    if not records:
        print(audit.GENESIS)
        print("审计日志为空 / audit log is empty", file=sys.stderr)
        return 0
    last = records[-1]
    print(last["hash"])
    print(f"记录 #{last['seq']}，{last['time_local']}，共 {len(records)} 条 / record #{last['seq']} of "
          f"{len(records)}", file=sys.stderr)
    return 0


def cmd_audit_verify(args) -> int:
    from app import audit

    records, path = _audit_records()
    problems = audit.verify_chain(records)
    expect = (getattr(args, "expect", None) or "").strip().lower()
    if expect and not any(r["hash"] == expect for r in records):
        problems.append(f"记下的哈希 {expect} 不在日志中：该记录或它之前的记录被删除或改写（整条链被重新计算过）/ "
                        "the noted hash is not in the log: that record or one before it was removed or rewritten "
                        "(the chain was recomputed)")
    for problem in problems:
        print(f"✗ {problem}")
    if problems:
        print(f"审计日志已被篡改 / audit log tampered: {len(problems)} problems in {len(records)} records ({path})")
        return 1
    head = records[-1]["hash"] if records else audit.GENESIS
    checked = f"; matches the noted hash {expect}" if expect else " (self-consistent only: pass --expect HASH " \
                                                                  "to check against a hash kept elsewhere)"
    print(f"审计日志完整 / audit chain intact: {len(records)} records, head {head}{checked} ({path})")
    return 0


def cmd_model_install(args) -> int:
    settings = load_settings()
    install_model(settings.models_dir, args.model or settings.model, log=lambda m: print(m, file=sys.stderr))
    return 0


def cmd_model_status(args) -> int:
    rows = model_status(load_settings().models_dir)
    for row in rows:
        if args.json:
            emit(row)
        else:
            print(f"{row['name']:10s} {'已安装 installed' if row['installed'] else '未安装 missing':16s} {row['file']}")
    return 0


def cmd_reach(args) -> int:
    """Direct use of the runout estimate: arguments override what the text says; nothing missing is guessed."""
    from dataclasses import replace

    from app.reason.reach import ReachInputs, estimate_reach, reach_inputs_from_text
    from app.reason.reach_render import profile_svg, render_reach

    given = {"hazard_type": args.hazard_type, "volume_m3": args.volume, "height_m": args.height, "path": args.path,
             "material": args.material, "slope_height_m": args.slope_height, "slope_angle_deg": args.slope_angle,
             "channel_length_m": args.channel_length, "place_distance_m": args.distance}
    try:
        inputs = replace(reach_inputs_from_text(args.text) if args.text else ReachInputs(),
                         **{k: v for k, v in given.items() if v is not None})
    except ValueError as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 2
    estimate = estimate_reach(inputs)
    if args.svg:
        args.svg.write_text(profile_svg(estimate), encoding="utf-8")
    if args.json:
        emit({**estimate.to_json(), "text": render_reach(estimate)})
    else:
        print(render_reach(estimate))
    return 0 if estimate.has_numbers else 1
