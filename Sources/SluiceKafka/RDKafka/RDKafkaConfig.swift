import CRdKafka

/// Builds an `rd_kafka_conf_t` from properties; the one place that calls `rd_kafka_conf_set`.
enum RDKafkaConfig {
    /// Property names whose values are secrets: never logged.
    static let secretNames: Set<String> = [
        "sasl.password", "sasl.oauthbearer.client.secret", "ssl.key.password", "ssl.keystore.password",
        "ssl.key.pem", "ssl_key", "ssl.certificate.pem", "sasl.oauthbearer.config", "sasl.kerberos.keytab",
    ]

    /// Whether a property's value must not be logged.
    static func isSecret(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return secretNames.contains(lowered) || lowered.contains("password") || lowered.contains("secret")
    }

    /// `properties` with secret values replaced by `<redacted>`, sorted by name, for logs.
    static func redacted(_ properties: [String: String]) -> [(String, String)] {
        properties.sorted { $0.key < $1.key }.map { ($0.key, isSecret($0.key) ? "<redacted>" : $0.value) }
    }

    /// A new configuration with `properties` set.
    ///
    /// - Throws: ``KafkaError`` of kind `configuration` naming the property librdkafka refused (never its value
    ///   when it is a secret).
    static func make(_ properties: [String: String]) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
            var errorText = [CChar](repeating: 0, count: 512)
            let result = rd_kafka_conf_set(conf, name, value, &errorText, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                let reason = errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                let shown = isSecret(name) ? "<redacted>" : value
                throw KafkaError(kind: .configuration, message: "property \(name)=\(shown): \(reason)")
            }
        }
        return conf
    }
}
