import Foundation
import ScryptexCommandLine

// The executable only hands the command line to the app module.
let arguments = Array(CommandLine.arguments.dropFirst())
let status = await ScryptexProgram(environment: ProcessInfo.processInfo.environment).run(arguments: arguments)
exit(status)
