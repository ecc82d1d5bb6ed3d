"""Evaluate a hand pose checkpoint the HANDS'19 way: the synthetic interpolation test set and one
extrapolation test set per axis (or one split), or a real dataset in its native layout.

Examples:
  handperception evaluate --model checkpoints/hand_tiny.pt --split all --out out/eval
  handperception evaluate --model checkpoints/hand_tiny.pt --dataset freihand
      --root ~/data/FreiHAND --out out/eval_fh
  handperception evaluate gaze --model checkpoints/gaze_tiny.pt --split all --out out/eval_gaze
  handperception evaluate gaze --model checkpoints/gaze_tiny.pt --dataset mpiigaze
      --root ~/data/MPIIGaze --persons p00,p01 --out out/eval_mpiigaze
  handperception evaluate two_hands --model checkpoints/two_hands_tiny.pt --split all
      --count 300 --out out/eval_two_hands
  handperception evaluate halo --model checkpoints/halo_tiny.pt --split all --count 100
      --out out/eval_halo
Writes evaluation.json, evaluation.md and (hands) evaluation.png (error per split, PCK curves).
Gaze: mean/median/p90 angular error in degrees on the synthetic interpolation set and the
head-pose and gaze-range extrapolation sets (eval.gaze), or on MPIIGaze / MPIIFaceGaze.
Two hands (DIGIT): per synthetic split, crops with no hand, one or two (eval.two_hands): MPJPE
of one-hand and two-hand crops, MRRPE, presence, handedness and part mIoU; evaluation.png shows
the MPJPEs and MRRPE per split.
HALO: per synthetic split (held-out poses, held-out shapes, extrapolated articulation) the
volumetric IoU over --count hands and, on the first tenth of them (at most 20), the Chamfer
distance (mm) of coarse-to-fine 128^3 meshes to the true skin (eval.halo); no plot.
"""

from __future__ import annotations

import argparse

from handperception.cli.arguments import CommandLineError, existing_file, positive_int

TASKS = ("hand", "gaze", "two_hands", "halo")
GAZE_DATASETS = ("mpiigaze", "mpiifacegaze")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "task", nargs="?", default="hand", choices=TASKS, help="what the checkpoint estimates"
    )
    parser.add_argument(
        "--model",
        required=True,
        type=existing_file,
        help="HandPoseNet (hand), DeepPictorialGaze (gaze), TwoHandNet (two_hands) or HaloNet "
        "(halo) checkpoint",
    )
    parser.add_argument(
        "--split",
        default="all",
        help="'all', 'interpolation' or 'extrapolation:<shape|articulation|viewpoint>' (hand, "
        "two_hands); 'all', 'interpolation', 'head_pose_extrapolation' or "
        "'gaze_range_extrapolation' (gaze)",
    )
    parser.add_argument(
        "--n",
        "--count",
        dest="n",
        type=positive_int,
        default=None,
        help="test samples per split (synthetic) or at most (real); default 500 (hand, gaze), "
        "300 (two_hands)",
    )
    parser.add_argument(
        "--dataset",
        default=None,
        help="real dataset instead: freihand | ho3d | interhand (hand), mpiigaze | mpiifacegaze "
        "(gaze)",
    )
    parser.add_argument("--root", default=None, help="the real dataset's root folder")
    parser.add_argument(
        "--dataset-split", default=None, help="the real dataset's own split name (e.g. training)"
    )
    parser.add_argument(
        "--crop-size",
        type=int,
        default=0,
        help="crop side (0: the size the checkpoint was trained at)",
    )
    parser.add_argument(
        "--persons", default=None, help="gaze datasets: participants, e.g. p00,p01 (default all)"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="out/eval")
    parser.add_argument("--seed", type=int, default=1)


def _run_gaze(args: argparse.Namespace) -> int:
    from pathlib import Path

    from handperception.eval.gaze import (
        SYNTHETIC_SETS,
        evaluate_mpiifacegaze,
        evaluate_mpiigaze,
        evaluate_synthetic,
    )
    from handperception.eval.report import EvaluationReport
    from handperception.models.checkpoint import CheckpointError, load_checkpoint
    from handperception.runtime.device import resolve_device

    if args.split != "all" and args.split not in SYNTHETIC_SETS:
        raise CommandLineError(f"--split must be 'all' or one of {list(SYNTHETIC_SETS)} for gaze")
    try:
        model, _ = load_checkpoint(
            args.model,
            expected_model="deep_pictorial_gaze",
            map_location=resolve_device(args.device),
        )
    except CheckpointError as error:
        raise CommandLineError(f"--model {args.model}: {error}") from error
    name = Path(args.model).stem
    if args.dataset:
        dataset = args.dataset.lower()
        if dataset not in GAZE_DATASETS:
            raise CommandLineError(f"--dataset must be one of {list(GAZE_DATASETS)} for gaze")
        if not args.root:
            raise CommandLineError("--dataset needs --root, the dataset's folder")
        persons = tuple(p for p in args.persons.split(",") if p) if args.persons else None
        evaluate = evaluate_mpiigaze if dataset == "mpiigaze" else evaluate_mpiifacegaze
        report = EvaluationReport(model=name, metadata={"persons": persons})
        report.add(evaluate(model, Path(args.root).expanduser(), persons))
    else:
        sets = SYNTHETIC_SETS if args.split == "all" else (args.split,)
        report = evaluate_synthetic(model, name, sets, args.n, args.seed)
    paths = report.write(args.out)
    print(report.markdown())
    print("wrote " + ", ".join(str(path) for path in paths.values()))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.n is None:
        args.n = {"two_hands": 300, "halo": 100}.get(args.task, 500)
    if args.task == "gaze":
        return _run_gaze(args)
    if args.task == "two_hands":
        return _run_two_hands(args)
    if args.task == "halo":
        return _run_halo(args)
    return _run_hand(args)


def _run_halo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from handperception.eval.halo import (
        HALO_SPLITS,
        evaluate_halo,
        halo_markdown,
        write_halo_report,
    )
    from handperception.models.checkpoint import CheckpointError, load_checkpoint
    from handperception.runtime.device import resolve_device

    if args.dataset:
        raise CommandLineError("halo evaluates the synthetic splits only (no --dataset)")
    if args.split != "all" and args.split not in HALO_SPLITS:
        raise CommandLineError(f"--split must be 'all' or one of {list(HALO_SPLITS)} for halo")
    device = resolve_device(args.device)
    try:
        model, _ = load_checkpoint(args.model, expected_model="halo", map_location=device)
    except CheckpointError as error:
        raise CommandLineError(f"--model {args.model}: {error}") from error
    splits = HALO_SPLITS if args.split == "all" else (args.split,)
    mesh_hands = min(20, max(1, args.n // 10))
    results = evaluate_halo(model, splits, args.n, args.seed, device, mesh_hands=mesh_hands)
    name = Path(args.model).stem
    metadata = {"hands_per_split": args.n, "mesh_hands": mesh_hands, "seed": args.seed}
    paths = write_halo_report(results, args.out, name, metadata)
    print(halo_markdown(results, name))
    print("wrote " + ", ".join(str(path) for path in paths.values()))
    return 0


def _run_two_hands(args: argparse.Namespace) -> int:
    from pathlib import Path

    from handperception.eval.two_hands import (
        TWO_HAND_SPLITS,
        evaluate_two_hands_synthetic,
        two_hands_markdown,
        write_two_hands_report,
    )
    from handperception.models.checkpoint import CheckpointError, load_checkpoint
    from handperception.pipeline.loading import trained_crop_size
    from handperception.runtime.device import resolve_device

    if args.dataset:
        raise CommandLineError("two_hands evaluates the synthetic splits only (no --dataset)")
    if args.split != "all" and args.split not in TWO_HAND_SPLITS:
        raise CommandLineError(
            f"--split must be 'all' or one of {list(TWO_HAND_SPLITS)} for two_hands"
        )
    device = resolve_device(args.device)
    try:
        model, _ = load_checkpoint(args.model, expected_model="two_hand_net", map_location=device)
        crop_size = args.crop_size or trained_crop_size(args.model)
    except CheckpointError as error:  # not a checkpoint, or not a two-hand one
        raise CommandLineError(f"--model {args.model}: {error}") from error
    splits = TWO_HAND_SPLITS if args.split == "all" else (args.split,)
    results = evaluate_two_hands_synthetic(model, splits, args.n, args.seed, crop_size, device)
    name = Path(args.model).stem
    metadata = {"items_per_split": args.n, "seed": args.seed, "crop_size": crop_size}
    paths = write_two_hands_report(results, args.out, name, metadata)
    print(two_hands_markdown(results, name))
    print("wrote " + ", ".join(str(path) for path in paths.values()))
    return 0


def _run_hand(args: argparse.Namespace) -> int:
    from pathlib import Path

    from handperception.eval.protocol import (
        HAND_POSE_SPLITS,
        evaluate_hand_pose,
        evaluate_hand_pose_dataset,
    )
    from handperception.models.checkpoint import CheckpointError, load_checkpoint
    from handperception.pipeline.loading import trained_crop_size
    from handperception.pipeline.pose_estimator import CropPoseEstimator
    from handperception.runtime.device import resolve_device

    if args.split != "all" and args.split not in HAND_POSE_SPLITS:
        raise CommandLineError(f"--split must be 'all' or one of {list(HAND_POSE_SPLITS)}")
    device = resolve_device(args.device)
    try:
        model, _ = load_checkpoint(args.model, expected_model="hand_pose_net", map_location=device)
    except CheckpointError as error:  # not a checkpoint, or not a hand pose one
        raise CommandLineError(f"--model {args.model}: {error}") from error
    crop_size = args.crop_size or trained_crop_size(args.model)
    estimator = CropPoseEstimator(model, device)
    name = Path(args.model).stem
    if args.dataset:
        if not args.root:
            raise CommandLineError("--dataset needs --root, the dataset's folder")
        from handperception.data import load_dataset

        split = args.dataset_split or {
            "freihand": "training",
            "ho3d": "train",
            "interhand": "val",
        }.get(args.dataset.lower())
        dataset = load_dataset(args.dataset, args.root, split)
        report = evaluate_hand_pose_dataset(
            estimator.predict, name, dataset, args.dataset.lower(), args.n, crop_size
        )
    else:
        splits = HAND_POSE_SPLITS if args.split == "all" else (args.split,)
        report = evaluate_hand_pose(estimator.predict, name, splits, args.n, args.seed, crop_size)
    paths = report.write(args.out)
    print(report.markdown())
    print("wrote " + ", ".join(str(path) for path in paths.values()))
    return 0
