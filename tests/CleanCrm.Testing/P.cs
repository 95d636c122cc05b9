namespace CleanCrm.Testing; public static class Placeholder {}
