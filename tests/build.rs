//! `cfg(no_redis)` when the tests that need Redis cannot have one (`REDIS_URL` unset and no
//! `redis-server` on the `PATH`): they are then reported as ignored, not as passed.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_redis)");
    println!("cargo::rerun-if-env-changed=REDIS_URL");
    println!("cargo::rerun-if-env-changed=PATH");
    let url = std::env::var_os("REDIS_URL").is_some_and(|u| !u.is_empty());
    let path = std::env::var_os("PATH").unwrap_or_default();
    let server = std::env::split_paths(&path).any(|d| d.join("redis-server").is_file());
    if !url && !server {
        println!("cargo::rustc-cfg=no_redis");
    }
}
