//! The .deb of `make package`, checked file by file against src-tauri/packaging/manifest.tsv.
//! In `make test` the package is built from the debug binaries (no release build), which
//! checks the manifest, the man pages and completions generated from the clap definition,
//! the desktop entries and scripts/package.sh together; `make package-check` points the
//! same checks at the release packages (`PACKAGE_DEB`, `PACKAGE_RPM`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One manifest line: the formats it is for, its mode, where it is installed, its source.
struct Entry {
    formats: String,
    mode: u32,
    dest: String,
    source: String,
}

fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(repo().join("src-tauri/packaging/manifest.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "four tab-separated fields: {l:?}");
            assert!(["all", "deb", "rpm"].contains(&f[0]), "{l:?}");
            assert!(f[2].starts_with("/usr/"), "installed under /usr: {l:?}");
            Entry {
                formats: f[0].into(),
                mode: u32::from_str_radix(f[1], 8).unwrap(),
                dest: f[2].into(),
                source: f[3].into(),
            }
        })
        .collect()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The man pages and completions, from the clap definition (`twake-upload generate-docs`).
fn generated(dir: &Path) -> Vec<String> {
    run(Command::new(e2e_tests::harness::cli_binary())
        .arg("generate-docs")
        .arg(dir))
    .lines()
    .map(|l| {
        l.strip_prefix(&format!("{}/", dir.display()))
            .unwrap()
            .to_string()
    })
    .collect()
}

/// The .deb to check: `PACKAGE_DEB`, else one built now from the debug binaries.
fn deb(work: &Path) -> PathBuf {
    if let Some(given) = std::env::var_os("PACKAGE_DEB") {
        return PathBuf::from(given);
    }
    let cli = e2e_tests::harness::cli_binary();
    let bin = work.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(&cli, bin.join("twake-upload")).unwrap();
    // The app's build needs the UI and WebKit: any real executable shows the staging.
    std::fs::copy(&cli, bin.join("twake-uploader")).unwrap();
    let gen = work.join("gen");
    generated(&gen);
    let out = work.join("out");
    let made = run(Command::new("bash")
        .env("DEB_COMPRESSION", "none")
        .arg(repo().join("scripts/package.sh"))
        .args([&bin, &gen, &out])
        .arg("deb"));
    PathBuf::from(made.trim())
}

/// `path → mode` of a .deb's files (`dpkg-deb -c`).
fn deb_files(deb: &Path) -> BTreeMap<String, u32> {
    run(Command::new("dpkg-deb").arg("-c").arg(deb))
        .lines()
        .filter(|l| l.starts_with('-'))
        .map(|l| {
            let perms = &l[1..10];
            let mode = perms.chars().fold(0, |m, c| (m << 1) | u32::from(c != '-'));
            let path = l.split_whitespace().last().unwrap();
            (path.trim_start_matches('.').to_string(), mode)
        })
        .collect()
}

#[test]
fn the_deb_carries_exactly_the_manifest_with_the_cli_its_man_pages_and_completions() {
    let work = tempfile::tempdir().unwrap();
    let deb = deb(work.path());
    let files = deb_files(&deb);
    let gen = work.path().join("gen-check");
    let pages: Vec<String> = generated(&gen)
        .into_iter()
        .filter_map(|p| p.strip_prefix("man/").map(|p| format!("{p}.gz")))
        .collect();
    let mut expected = BTreeMap::new();
    for e in manifest().iter().filter(|e| e.formats != "rpm") {
        if e.dest.ends_with('/') {
            assert_eq!(
                e.source, "@gen/man/*.1",
                "the one folder line: the man pages"
            );
            for page in &pages {
                expected.insert(format!("{}{page}", e.dest), e.mode);
            }
        } else {
            expected.insert(e.dest.clone(), e.mode);
        }
    }
    assert_eq!(
        files, expected,
        "the package's files and modes are the manifest's"
    );
    for must in [
        "/usr/bin/twake-upload",
        "/usr/bin/twake-uploader",
        "/usr/share/man/man1/twake-upload.1.gz",
        "/usr/share/man/man1/twake-upload-upload.1.gz",
        "/usr/share/bash-completion/completions/twake-upload",
        "/usr/share/zsh/vendor-completions/_twake-upload",
        "/usr/share/fish/vendor_completions.d/twake-upload.fish",
        "/usr/share/applications/com.linagora.twake-uploader.desktop",
    ] {
        assert!(files.contains_key(must), "{must} in {files:?}");
    }

    let info = run(Command::new("dpkg-deb").args(["-f"]).arg(&deb));
    assert!(info.contains("Package: twake-uploader\n"), "{info}");
    assert!(info.contains("Version: 0.1.0"), "{info}");
    let depends = info.lines().find(|l| l.starts_with("Depends: ")).unwrap();
    assert!(
        depends.contains("libc6") && depends.contains("libayatana-appindicator3-1"),
        "the libraries it links and the tray's: {depends}"
    );

    // What a person gets once it is installed: the entries, valid, and a man page that reads.
    let root = work.path().join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    let entry = root.join("usr/share/applications/com.linagora.twake-uploader.desktop");
    run(Command::new("desktop-file-validate").arg(&entry));
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(text.contains("\nExec=twake-uploader %F\n"), "{text}");
    assert!(
        text.contains("\nMimeType=") && text.contains("inode/directory;"),
        "{text}"
    );
    assert!(text.contains("\nIcon=twake-uploader\n"), "{text}");
    run(Command::new("desktop-file-validate")
        .arg(root.join("usr/share/Thunar/sendto/twake-uploader.desktop")));
    let page = run(Command::new("gzip")
        .arg("-dc")
        .arg(root.join("usr/share/man/man1/twake-upload.1.gz")));
    assert!(page.contains(".TH twake-upload 1"), "{page:.300}");
    let help = run(Command::new(root.join("usr/bin/twake-upload")).arg("--help"));
    assert!(help.contains("upload"), "the packaged CLI runs: {help}");
}

#[test]
fn the_rpm_carries_the_same_files_with_zsh_where_fedora_looks() {
    let Some(rpm) = std::env::var_os("PACKAGE_RPM") else {
        // The .rpm needs rpmbuild, which only `make package` installs: its contents are
        // checked by `make package-check`; here, the manifest's rpm lines at least.
        let rpm_only: Vec<String> = manifest()
            .into_iter()
            .filter(|e| e.formats == "rpm")
            .map(|e| e.dest)
            .collect();
        assert_eq!(rpm_only, ["/usr/share/zsh/site-functions/_twake-upload"]);
        return;
    };
    let listed = run(Command::new("rpm")
        .args(["-qlp", "--nosignature"])
        .arg(&rpm));
    let files: Vec<&str> = listed.lines().collect();
    for e in manifest().iter().filter(|e| e.formats != "deb") {
        if e.dest.ends_with('/') {
            assert!(
                files
                    .iter()
                    .any(|f| f.starts_with(&e.dest) && f.ends_with(".1.gz")),
                "{} in {files:?}",
                e.dest
            );
        } else {
            assert!(files.contains(&e.dest.as_str()), "{} in {files:?}", e.dest);
        }
    }
    assert!(
        !files.iter().any(|f| f.contains("Twake Uploader.desktop")),
        "one menu entry, named by the app's id: {files:?}"
    );
    let info = run(Command::new("rpm")
        .args(["-qip", "--nosignature"])
        .arg(&rpm));
    assert!(info.contains("twake-uploader"), "{info}");
}

#[test]
fn every_packaging_file_is_in_the_manifest_and_the_app_id_names_the_entry() {
    let entries = manifest();
    for e in entries.iter().filter(|e| !e.source.starts_with('@')) {
        assert!(repo().join(&e.source).is_file(), "{} exists", e.source);
    }
    for file in std::fs::read_dir(repo().join("src-tauri/packaging")).unwrap() {
        let name = file.unwrap().file_name().to_string_lossy().into_owned();
        if name == "manifest.tsv" {
            continue;
        }
        let source = format!("src-tauri/packaging/{name}");
        assert!(
            entries.iter().any(|e| e.source == source),
            "{source} is installed by the manifest"
        );
    }
    let conf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("src-tauri/tauri.conf.json")).unwrap(),
    )
    .unwrap();
    let id = conf["identifier"].as_str().unwrap();
    let bin = conf["mainBinaryName"].as_str().unwrap();
    assert!(entries
        .iter()
        .any(|e| e.dest == format!("/usr/share/applications/{id}.desktop")));
    assert!(entries.iter().any(|e| e.dest == format!("/usr/bin/{bin}")));
}
