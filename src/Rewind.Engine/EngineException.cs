namespace Rewind.Engine;

/// <summary>The engine refused an operation or could not be loaded.</summary>
public sealed class EngineException : Exception
{
    public EngineException(string message) : base(message) { }

    public EngineException(string operation, UcError error)
        : base($"{operation}: {Describe(error)}") => Error = error;

    public UcError Error { get; }

    static unsafe string Describe(UcError error)
    {
        try
        {
            return System.Runtime.InteropServices.Marshal.PtrToStringUTF8(Native.uc_strerror(error)) ?? error.ToString();
        }
        catch (DllNotFoundException)
        {
            return error.ToString();
        }
    }
}
