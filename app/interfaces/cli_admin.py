"""`geohazard` commands around the product: the audit log, model files, and the evaluation tools in eval/."""

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


def cmd_audit_verify(args) -> int:
    from app import audit

    path = load_settings().audit_db
    db = audit.connect(path)
    try:
        records = audit.read_records(db)
    finally:
        db.close()
    problems = audit.verify_chain(records)
    for problem in problems:
        print(f"✗ {problem}")
    if problems:
        print(f"审计日志已被篡改 / audit log tampered: {len(problems)} problems in {len(records)} records ({path})")
        return 1
    head = records[-1]["hash"] if records else audit.GENESIS
    print(f"审计日志完整 / audit chain intact: {len(records)} records, head {head} ({path})")
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
