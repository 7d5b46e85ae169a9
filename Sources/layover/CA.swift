import ArgumentParser
import Foundation
import LayoverConfig
import LayoverIntercept

/// `layover ca init|cert`: intercept mode's certificate authority, made once and trusted by the
/// clients that use Layover as their `HTTPS_PROXY`.
struct CA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Make or print the certificate authority of intercept mode.",
        subcommands: [Init.self, Cert.self])

    /// Where the CA lives: `--dir`, else the configuration's `intercept.ca` paths, else `<storage>/ca/`.
    struct Location: ParsableArguments {
        @OptionGroup var configuration: ConfigurationOptions
        @Option(help: "The directory of ca.crt and ca.key (overrides the configuration).")
        var dir: String?

        func paths() throws -> (certificate: String, key: String) {
            if let dir { return ("\(dir)/ca.crt", "\(dir)/ca.key") }
            let effective = try configuration.effectiveConfiguration()
            return effective.intercept.caPaths(storage: effective.storage)
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an ECDSA P-256 CA (key file mode 0600); refuses to replace an existing one.")

        @OptionGroup var location: Location

        func run() throws {
            let paths = try location.paths()
            do {
                let authority = try CertificateAuthority.create()
                try authority.save(certificatePath: paths.certificate, keyPath: paths.key)
            } catch {
                throw ValidationError("\(error)")
            }
            print("created \(paths.certificate) and \(paths.key) (mode 0600)")
            print("clients must trust \(paths.certificate): `layover ca cert` prints it")
        }
    }

    struct Cert: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the CA certificate (PEM) for clients to trust.")

        @OptionGroup var location: Location

        func run() throws {
            let paths = try location.paths()
            do {
                print(try CertificateAuthority.load(certificatePath: paths.certificate, keyPath: paths.key).certificatePEM)
            } catch {
                throw ValidationError("\(error) (make one with `layover ca init`)")
            }
        }
    }
}
