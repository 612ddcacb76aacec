//! A REST body for one of the RPCs (the first byte picks which): JSON decoding, validation and
//! the application service must neither panic nor fail with `Internal` / `Unavailable`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((which, body)) = data.split_first() {
        persona_fuzz::check(&persona_fuzz::through(usize::from(*which), body, persona_fuzz::Decoder::Json));
    }
});
