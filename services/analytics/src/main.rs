//! `reelforge-analytics`: the analytics service alone, as `reelforge serve --only analytics`.

fn main() -> std::process::ExitCode {
    shared::process::service_main(analytics::service())
}
