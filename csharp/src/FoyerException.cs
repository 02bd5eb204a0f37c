using System;
using System.Collections.Generic;

namespace Foyer
{
    /// <summary>
    /// A refused or failed request: the server's error code (or the client's own:
    /// Disconnected, Closed, and Timeout when no reply came in time).
    /// </summary>
    public sealed class FoyerException : Exception
    {
        public ErrorCode Code { get; private set; }
        /// <summary>The code as on the wire (BAD_REQUEST), also for codes this client does not know.</summary>
        public string CodeName { get; private set; }
        /// <summary>The op of the request.</summary>
        public string Op { get; private set; }
        /// <summary>BAD_REQUEST: where the data failed validation.</summary>
        public IList<ErrorIssuesItem> Issues { get; private set; }

        public FoyerException(string codeName, string message, string op, IList<ErrorIssuesItem> issues = null, Exception inner = null)
            : base((op != null ? op + ": " : "") + codeName + ": " + message, inner)
        {
            CodeName = codeName;
            Code = ErrorCodes.Parse(codeName);
            Op = op;
            Issues = issues;
        }

        public FoyerException(ErrorCode code, string message, string op, Exception inner = null)
            : this(ErrorCodes.ToWire(code), message, op, null, inner)
        {
        }

        internal static FoyerException FromBody(Error body, string op)
        {
            if (body == null) return new FoyerException("INTERNAL", "malformed error reply", op);
            return new FoyerException(body.Code ?? "INTERNAL", body.Message ?? "", op ?? body.Op, body.Issues);
        }
    }
}
