//! `reelforge-distribution`: the distribution service alone, as `reelforge serve --only distribution`.

fn main() -> std::process::ExitCode {
    shared::process::service_main(distribution::service())
}
