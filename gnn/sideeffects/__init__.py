"""Side-effect prediction (Drug-CAUSES-SideEffect) for any drug: similarity-weighted kNN over several drug
similarities, combined by a learned stacker and Platt-calibrated. See docs/side-effects.md."""
