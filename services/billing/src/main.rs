//! `reelforge-billing`: the billing service alone, as `reelforge serve --only billing`.

fn main() -> std::process::ExitCode {
    shared::process::service_main(billing::service())
}
