import LayoverUpstream

/// Renders a configuration as the YAML a config file would hold; credentials are masked.
public enum ConfigurationPrinter {
    public static func yaml(_ configuration: LayoverConfiguration) -> String {
        var lines = [
            "listen: \(configuration.listenHost):\(configuration.listenPort)",
            "storage: \(configuration.storage)",
            "maxBytes: \(ByteSize.format(configuration.maxBytes))",
        ]
        if configuration.indexSynchronous != "full" { lines.append("indexSynchronous: \(configuration.indexSynchronous)") }
        if let defaultUpstream = configuration.defaultUpstream { lines.append("defaultUpstream: \(defaultUpstream)") }
        lines.append("uploadTimeoutSeconds: \(configuration.uploadTimeoutSeconds)")
        lines.append("maxUploadSessions: \(configuration.maxUploadSessions)")
        lines.append("maxUploadSessionsPerClient: \(configuration.maxUploadSessionsPerClient)")
        if let maxConnections = configuration.maxConnections { lines.append("maxConnections: \(maxConnections)") }
        lines.append("accessLog: \(configuration.accessLog)")
        lines.append("logFormat: \(configuration.logFormat)")
        lines.append("shutdownGraceSeconds: \(configuration.shutdownGraceSeconds)")
        lines.append("upstreamIdleTimeoutSeconds: \(configuration.upstreamIdleTimeoutSeconds)")
        if configuration.scrubBytesPerSecond > 0 { lines.append("scrubBytesPerSecond: \(ByteSize.format(configuration.scrubBytesPerSecond))") }
        if let eventLoops = configuration.eventLoops { lines.append("eventLoops: \(eventLoops)") }
        lines.append("upstreams:")
        for name in configuration.upstreams.keys.sorted() {
            let upstream = configuration.upstreams[name]!
            lines.append("  \(name):")
            lines.append("    url: \(upstream.url)")
            if let credentials = upstream.credentials {
                lines.append("    username: \(credentials.username)")
                lines.append("    password: '********'")
            }
            if upstream.tagFreshnessSeconds > 0 { lines.append("    tagFreshnessSeconds: \(upstream.tagFreshnessSeconds)") }
            if upstream.stallTimeoutSeconds != 60 { lines.append("    stallTimeoutSeconds: \(upstream.stallTimeoutSeconds)") }
            if upstream.uploadChunkBytes != UpstreamConfiguration.defaultUploadChunkBytes {
                lines.append("    uploadChunkSize: \(upstream.uploadChunkBytes)")
            }
            let prefetch = upstream.prefetch
            lines.append("    prefetch: {cacheManifests: \(prefetch.cacheManifests), maxBytes: \(ByteSize.format(prefetch.maxBytes)), concurrency: \(prefetch.concurrency)}")
            lines.append("    push: \(configuration.pushModes[name] ?? "async")")
            if configuration.deletionAllowed.contains(name) { lines.append("    allowDelete: true") }
        }
        lines += sectionLines(configuration)
        return lines.joined(separator: "\n")
    }
}
