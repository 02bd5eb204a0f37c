using System.Runtime.CompilerServices;

// The test program feeds the mirror canned frames directly.
[assembly: InternalsVisibleTo("FoyerTests")]
