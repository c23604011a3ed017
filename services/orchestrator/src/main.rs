//! `reelforge-orchestrator`: the orchestrator alone, as `reelforge serve --only orchestrator`.

fn main() -> std::process::ExitCode {
    shared::process::service_main(orchestrator::service())
}
