import Foundation

/// Prints a line unbuffered, so each figure reaches a log file as it is measured, even if the run
/// dies later.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
