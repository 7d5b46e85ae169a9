import Foundation
import LayoverTestSupport

/// nginx serving blob and manifest files straight from a store directory with `sendfile`: the
/// near-physical limit for serving a cached blob. With `tls`, over TLS 1.2/1.3 with ALPN `h2`
/// and `http/1.1` instead (its defaults otherwise, as a deployment would have them).
final class Nginx {
    let port: Int
    let process: TestProcess
    let directory: TemporaryDirectory

    /// - Parameters:
    ///   - blobRoot: a `blobs/sha256` directory laid out as `<2 hex>/<hex>`.
    ///   - tls: a certificate chain and key (PEM) to serve TLS and HTTP/2 with.
    ///   - workers: worker processes; more than one runs them under nginx's master process.
    init(blobRoot: String, tls: (certificate: String, key: String)? = nil, workers: Int = 1) async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") else {
            throw TestFailure("nginx is not installed: apt-get install nginx-light")
        }
        directory = try TemporaryDirectory()
        let port = try freePort()
        self.port = port
        let listen = tls.map {
            "listen 127.0.0.1:\(port) ssl http2; ssl_certificate \($0.certificate); ssl_certificate_key \($0.key); ssl_protocols TLSv1.2 TLSv1.3;"
        } ?? "listen 127.0.0.1:\(port);"
        let config = """
            daemon off;
            master_process \(workers > 1 ? "on" : "off");
            worker_processes \(workers);
            error_log stderr error;
            pid \(directory.path)/nginx.pid;
            events { worker_connections 4096; }
            http {
              access_log off;
              sendfile on;
              tcp_nopush on;
              keepalive_requests 100000000;
              client_body_temp_path \(directory.path)/body;
              proxy_temp_path \(directory.path)/proxy;
              fastcgi_temp_path \(directory.path)/fastcgi;
              uwsgi_temp_path \(directory.path)/uwsgi;
              scgi_temp_path \(directory.path)/scgi;
              server {
                \(listen)
                location ~ "^/v2/.+/blobs/sha256:(?<p>[0-9a-f]{2})(?<rest>[0-9a-f]{62})$" {
                  default_type application/octet-stream;
                  alias \(blobRoot)/$p/$p$rest;
                }
                location ~ "^/v2/.+/manifests/sha256:(?<p>[0-9a-f]{2})(?<rest>[0-9a-f]{62})$" {
                  default_type application/vnd.oci.image.manifest.v1+json;
                  alias \(blobRoot)/$p/$p$rest;
                }
              }
            }
            """
        let path = directory.path + "/nginx.conf"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        process = try TestProcess(executable: "/usr/sbin/nginx", arguments: ["-e", "stderr", "-p", directory.path, "-c", path])
        for _ in 0..<100 {
            if tls == nil {
                if (try? await TestHTTP.shared.get("http://127.0.0.1:\(port)/").status) != nil { return }
            } else if try await TestProcess(executable: "/usr/bin/curl", arguments: ["-sk", "-o", "/dev/null", "https://127.0.0.1:\(port)/"])
                .waitForExit() == 0 {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("nginx did not start: \(process.output)")
    }

    var pid: Int32 { process.process.processIdentifier }

    func stop() {
        // The master first, so that it cannot start workers again; then its workers, which hold
        // the output pipe that `stop` reads to its end.
        let workers = ProcessReading.children(of: pid)
        process.send(signal: SIGKILL)
        for worker in workers { kill(worker, SIGKILL) }
        process.stop(signal: SIGKILL)
        directory.remove()
    }
}
