@echo off
REM rollback.bat - roll a Remedy component back with zdt.exe, from the
REM component's installcompletionutility folder (Windows installs).
REM
REM NOTE: zdt has no Windows build yet (zdt.exe does not exist).  This file
REM fixes the contract that the Windows build will keep; it has not been run
REM on Windows.  It mirrors rollback.sh (see zdt(1), WRAPPERS).
REM
REM usage: rollback.bat "<AR Server Name>" "<AR Admin User Name>" "<AR Admin password>" [AtriumCore]
REM
REM runs   zdt.exe [-b "%ZDT_BACKUP_DIR%"] rollback --from COMPONENT --server SERVER --user USER
REM or, with the optional fourth argument (a component name or alias, any
REM case: only COMPONENT itself is rolled back, whichever it names),
REM        zdt.exe [-b "%ZDT_BACKUP_DIR%"] rollback -c COMPONENT --server SERVER --user USER
REM
REM The password goes to zdt.exe in the environment variable ZDT_AR_PASSWORD
REM (zdt reads and wipes it), never on its command line.  A password that
REM contains a double quote cannot be passed through cmd.exe.
REM
REM COMPONENT: the first line of the file zdt-component next to this script,
REM else the name of the folder above the one this script sits in, in any
REM case, blanks, '-' and '_' left out: ar or arsystem: AR; atriumcore or
REM cmdb: AtriumCore; atriumintegrator (also as a prefix) or ai:
REM AtriumIntegrator.  Any other name: exit 2.
REM
REM Environment: ZDT (the program; else zdt.exe on PATH, else
REM %ProgramFiles%\zdt\zdt.exe), ZDT_BACKUP_DIR (passed on as -b),
REM ZDT_NO_SERVER_CHECK=1 (pass --no-server-check).
REM Exit status: zdt's; 2 usage error; 9009 zdt.exe not found.
setlocal EnableExtensions DisableDelayedExpansion

set "ZDT_ME=rollback.bat"
if "%~1"=="-h" goto help
if "%~1"=="--help" goto help
if "%~1"=="/?" goto help
if [%3]==[] goto usage_count
if not [%5]==[] goto usage_count
set "ZDT_SERVER=%~1"
set "ZDT_USER=%~2"
if not defined ZDT_SERVER goto usage_server
if not defined ZDT_USER goto usage_user
set "ZDT_AR_PASSWORD=%~3"
set "ZDT_ONLY="
set "ZDT_ARG4=%~4"
if not defined ZDT_ARG4 goto find_component
set "ZDT_NAME=%~4"
call :canon
if not defined ZDT_COMP goto usage_arg4
set "ZDT_ONLY=%ZDT_COMP%"

:find_component
set "ZDT_COMP="
if not exist "%~dp0zdt-component" goto from_folder
set "ZDT_NAME="
for /f "usebackq eol=# delims=" %%L in ("%~dp0zdt-component") do if not defined ZDT_NAME set "ZDT_NAME=%%L"
if not defined ZDT_NAME goto bad_file
set "ZDT_NAME=%ZDT_NAME: =%"
if not defined ZDT_NAME goto bad_file
call :canon
if not defined ZDT_COMP goto bad_file
goto find_zdt

:from_folder
for %%I in ("%~dp0..") do set "ZDT_PARENT=%%~fI"
for %%I in ("%ZDT_PARENT%") do set "ZDT_NAME=%%~nxI"
if not defined ZDT_NAME goto bad_folder
set "ZDT_NAME=%ZDT_NAME: =%"
if not defined ZDT_NAME goto bad_folder
set "ZDT_NAME=%ZDT_NAME:_=%"
if not defined ZDT_NAME goto bad_folder
set "ZDT_NAME=%ZDT_NAME:-=%"
if not defined ZDT_NAME goto bad_folder
call :canon
if defined ZDT_COMP goto find_zdt
if /i "%ZDT_NAME:~0,16%"=="atriumintegrator" set "ZDT_COMP=AtriumIntegrator"
if not defined ZDT_COMP goto bad_folder

:find_zdt
set "ZDT_EXE=%ZDT%"
if defined ZDT_EXE goto have_zdt
for %%Z in (zdt.exe) do set "ZDT_EXE=%%~$PATH:Z"
if defined ZDT_EXE goto have_zdt
set "ZDT_EXE=%ProgramFiles%\zdt\zdt.exe"
:have_zdt
if not exist "%ZDT_EXE%" goto no_zdt

set "ZDT_GLOBAL="
if defined ZDT_BACKUP_DIR set ZDT_GLOBAL=-b "%ZDT_BACKUP_DIR%"
set "ZDT_SEL=--from %ZDT_COMP%"
if not defined ZDT_ONLY goto run
set "ZDT_SEL=-c %ZDT_COMP%"
if /i not "%ZDT_ONLY%"=="%ZDT_COMP%" echo %ZDT_ME%: note: the COMPONENT argument names %ZDT_ONLY%; only %ZDT_COMP% (the component of this folder) is rolled back 1>&2

:run
set "ZDT_NOCHECK="
if "%ZDT_NO_SERVER_CHECK%"=="1" set "ZDT_NOCHECK=--no-server-check"
"%ZDT_EXE%" %ZDT_GLOBAL% rollback %ZDT_SEL% --server "%ZDT_SERVER%" --user "%ZDT_USER%" %ZDT_NOCHECK%
exit /b %ERRORLEVEL%

REM canon: ZDT_COMP = the canonical name of the component name in ZDT_NAME
:canon
set "ZDT_COMP="
if /i "%ZDT_NAME%"=="AR" set "ZDT_COMP=AR"
if /i "%ZDT_NAME%"=="arsystem" set "ZDT_COMP=AR"
if /i "%ZDT_NAME%"=="AtriumCore" set "ZDT_COMP=AtriumCore"
if /i "%ZDT_NAME%"=="cmdb" set "ZDT_COMP=AtriumCore"
if /i "%ZDT_NAME%"=="AtriumIntegrator" set "ZDT_COMP=AtriumIntegrator"
if /i "%ZDT_NAME%"=="ai" set "ZDT_COMP=AtriumIntegrator"
goto :eof

:help
call :usage
exit /b 0

:usage
echo usage: rollback.bat "<AR Server Name>" "<AR Admin User Name>" "<AR Admin password>" [AtriumCore]
goto :eof

:usage_count
1>&2 echo %ZDT_ME%: expected 3 or 4 arguments
goto usage_error
:usage_server
1>&2 echo %ZDT_ME%: the AR server name is empty
goto usage_error
:usage_user
1>&2 echo %ZDT_ME%: the AR admin user name is empty
goto usage_error
:usage_arg4
1>&2 echo %ZDT_ME%: unknown component in the fourth argument (valid: AR (arsystem), AtriumCore (cmdb), AtriumIntegrator (ai))
goto usage_error
:usage_error
1>&2 call :usage
exit /b 2

:bad_file
1>&2 echo %ZDT_ME%: "%~dp0zdt-component" names no component
1>&2 echo hint: write AR, AtriumCore or AtriumIntegrator in it
exit /b 2

:bad_folder
1>&2 echo %ZDT_ME%: cannot tell the component from the folder "%ZDT_PARENT%"
1>&2 echo hint: run the copy in the component's installcompletionutility folder, or write the component's name in "%~dp0zdt-component"
exit /b 2

:no_zdt
1>&2 echo %ZDT_ME%: zdt.exe not found: "%ZDT_EXE%"
1>&2 echo hint: install zdt, or set ZDT to the program
exit /b 9009
