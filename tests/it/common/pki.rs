//! Certificates made at run time with the openssl CLI: CAs, and server and client
//! certificates for 127.0.0.1 and localhost.

use std::path::PathBuf;
use std::process::Command;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tempfile::TempDir;

use super::temp_dir;
use crate::tools;

/// A directory of keys and certificates (`NAME.key`, `NAME.crt`), removed on drop.
pub struct Pki {
    dir: TempDir,
}

impl Pki {
    /// A CA `ca`, a server certificate `server` (127.0.0.1 and localhost, serial 1), a client
    /// certificate `client` from `ca`, and a client certificate `stranger` from another CA.
    pub fn new() -> Pki {
        let pki = Pki {
            dir: temp_dir("pki"),
        };
        pki.ca("ca");
        pki.issue("server", "ca", "serverAuth", 1);
        pki.issue("client", "ca", "clientAuth", 2);
        pki.ca("other-ca");
        pki.issue("stranger", "other-ca", "clientAuth", 3);
        pki
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    pub fn openssl(&self, args: &[&str]) {
        let mut cmd = Command::new(tools::path(tools::openssl));
        cmd.args(args).current_dir(self.dir.path());
        tools::run_ok(&mut cmd, "apt-get install openssl", "openssl");
    }

    pub fn ca(&self, name: &str) {
        let (key, crt, subject) = (
            format!("{name}.key"),
            format!("{name}.crt"),
            format!("/CN={name}"),
        );
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "2",
            "-subj",
            &subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
    }

    /// `name.key` and `name.crt`, signed by `ca`, with `serial`.
    pub fn issue(&self, name: &str, ca: &str, usage: &str, serial: u32) {
        let ext = format!("{name}.ext");
        std::fs::write(
            self.path(&ext),
            format!(
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                 extendedKeyUsage={usage}\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
            ),
        )
        .expect("extension file");
        let (key, csr, crt) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
        );
        let subject = format!("/CN={name}");
        self.openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &subject,
        ]);
        let (ca_crt, ca_key, serial) =
            (format!("{ca}.crt"), format!("{ca}.key"), serial.to_string());
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_crt,
            "-CAkey",
            &ca_key,
            "-set_serial",
            &serial,
            "-days",
            "2",
            "-out",
            &crt,
            "-extfile",
            &ext,
        ]);
    }

    /// The DER of the first certificate in `file`.
    pub fn der(&self, file: &str) -> Vec<u8> {
        CertificateDer::pem_file_iter(self.path(file))
            .expect("PEM file")
            .next()
            .expect("a certificate")
            .expect("PEM certificate")
            .to_vec()
    }
}
